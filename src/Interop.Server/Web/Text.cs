using System.Globalization;

namespace Interop.Server.Web;

/// <summary>
/// The pages' language: English or Simplified Chinese, from the switch's cookie, else the browser's Accept-Language
/// (any zh → zh-CN), else English. Texts are written in English in the pages and looked up here; each page adds its
/// own Chinese texts (<see cref="PageBase.Chinese"/>) to the common ones. A text without a translation shows in English.
/// </summary>
public sealed class Text(bool chinese, IReadOnlyDictionary<string, string>? page)
{
    public const string Cookie = "interop.lang";
    public static readonly string[] Languages = ["en", "zh-CN"];

    public bool Chinese { get; } = chinese;
    public string Language => Chinese ? "zh-CN" : "en";
    public CultureInfo Culture => CultureInfo.GetCultureInfo(Language);

    public string this[string english] =>
        !Chinese ? english : page is not null && page.TryGetValue(english, out var own) ? own : Common.GetValueOrDefault(english, english);

    /// <summary>A text with {0}-style holes, filled in the page's culture.</summary>
    public string Format(string english, params object?[] args) => string.Format(Culture, this[english], args);

    public static bool PrefersChinese(HttpRequest request)
    {
        if (request.Cookies[Cookie] is { } chosen) return chosen.StartsWith("zh", StringComparison.OrdinalIgnoreCase);
        var accept = request.GetTypedHeaders().AcceptLanguage;
        var first = accept.Where(a => (a.Quality ?? 1) > 0).OrderByDescending(a => a.Quality ?? 1).FirstOrDefault();
        return first?.Value.Value?.StartsWith("zh", StringComparison.OrdinalIgnoreCase) == true;
    }

    /// <summary>The layout's and the shared parts' texts.</summary>
    public static readonly IReadOnlyDictionary<string, string> Common = new Dictionary<string, string>
    {
        ["Interop"] = "Interop 互联互通",
        ["Home"] = "首页",
        ["Referrals"] = "转诊",
        ["Timeline"] = "患者时间线",
        ["Indicators"] = "指标",
        ["Audit"] = "审计",
        ["Resident app"] = "居民应用",
        ["Sign out"] = "退出登录",
        ["Sign in"] = "登录",
        ["Signed in as"] = "当前用户",
        ["Language"] = "语言",
        ["English"] = "English",
        ["中文"] = "中文",
        ["Skip to content"] = "跳到正文",
        ["Main navigation"] = "主导航",
        ["Not allowed"] = "无权访问",
        ["The server refused:"] = "服务器拒绝：",
        ["Something went wrong:"] = "出错了：",
        ["Open"] = "打开",
        ["Search"] = "搜索",
        ["Institution"] = "机构",
        ["Resident"] = "居民",
        ["Date"] = "日期",
        ["Status"] = "状态",
        ["Pages for people"] = "面向用户的页面",
        ["Your pages"] = "您的页面",
        ["Resident id"] = "居民编号",
        ["Open a resident's timeline"] = "打开居民时间线",
        ["for the residents, on their phones"] = "供居民在手机上使用",
        ["incoming and outgoing referrals of your institution"] = "本机构的转入与转出",
        ["one resident's record across the group"] = "居民在集团内的完整记录",
        ["the group's indicators per month and institution"] = "按月份和机构的集团指标",
        ["who accessed which record"] = "谁访问了哪份记录",
        ["Roles"] = "角色",
        ["none"] = "无",
    };
}
