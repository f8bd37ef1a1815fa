namespace Interop.Server.Pages.Timeline;

public sealed partial class TimelineModel
{
    protected override IReadOnlyDictionary<string, string>? Chinese => Texts;

    private static readonly Dictionary<string, string> Texts = new()
    {
        ["Patient timeline"] = "患者时间线",
        ["Name or identifier"] = "姓名或证件号",
        ["{0} residents found"] = "找到 {0} 位居民",
        ["No resident you may see matches. A resident's id opens their timeline directly:"] = "没有您可查看的匹配居民。也可直接按居民编号打开时间线：",
        ["Break the glass"] = "紧急访问（破窗）",
        ["In an emergency you may read this record although the access policy refuses it. The access is logged with your reason and reviewed by the auditors."] = "紧急情况下，您可以在访问策略拒绝时仍查看此记录。此次访问及其理由将被记录并由审计人员复核。",
        ["Reason for the emergency access"] = "紧急访问理由",
        ["Break the glass and read the record"] = "破窗并查看记录",
        ["Breaking the glass needs the reason for the emergency access."] = "破窗访问必须填写紧急访问理由。",
        ["Break-the-glass access."] = "破窗访问。",
        ["This access is logged as break-glass, with your reason:"] = "此次访问已作为破窗访问记录，理由为：",
        ["Identifier"] = "证件号",
        ["Birth date"] = "出生日期",
        ["Entries"] = "条目",
        ["Group by"] = "分组",
        ["month"] = "按月",
        ["day"] = "按日",
        ["Show"] = "显示",
        ["Nothing recorded yet."] = "尚无记录。",
        ["Undated"] = "无日期",
        ["Encounter"] = "就诊",
        ["Condition"] = "诊断",
        ["Referral"] = "转诊",
        ["Care plan"] = "照护计划",
        ["Observation"] = "检查结果",
        ["institution not stated"] = "未注明机构",
        ["written by {0}"] = "由 {0} 写入",
    };
}
