using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Hl7.Fhir.Model;
using Interop.Server.Rest;
using Interop.Server.Web;
using Microsoft.AspNetCore.Mvc;

namespace Interop.Server.Pages.Indicators;

/// <summary>One row of a table: a month ("2026-03"), an institution ("Organization/x", "none") or the whole period (""), and its figures.</summary>
public sealed record FigureRow(string Key, string Label, Figures Figures);

/// <summary>A group of an indicator over the period: the whole period's figures, each month's and each institution's.</summary>
public sealed record Series(IndicatorInfo Indicator, GroupInfo Group, Figures Total, IReadOnlyList<FigureRow> Months, IReadOnlyList<FigureRow> Institutions)
{
    public string Key => $"{Indicator.Id}/{Group.Code}";
}

/// <summary>
/// The indicator dashboard: each of the group's indicators per month and per institution over a period (from, to:
/// months; reporter: the whole group or one institution), as charts with tables beside them, a drill-down to the
/// residents behind a number (Indicators/List) and a CSV download. Every figure is $evaluate-measure through the API
/// with the user's token: one call for the whole period and one per month, per indicator.
/// </summary>
public sealed partial class IndexModel : PageBase
{
    public const int MaxMonths = 24;
    private const int Parallel = 4;

    [BindProperty(SupportsGet = true)] public string? From { get; set; }
    [BindProperty(SupportsGet = true)] public string? To { get; set; }
    /// <summary>"group" (the whole group) or an institution, Organization/{id}; by default the user's institution, else the group.</summary>
    [BindProperty(SupportsGet = true)] public string? Reporter { get; set; }
    public const string WholeGroup = "group";
    /// <summary>The reporter for $evaluate-measure: null for the whole group.</summary>
    public string? ReporterRef => Reporter is null or WholeGroup ? null : Reporter;

    public List<string> Months { get; } = [];
    public List<Series> Shown { get; } = [];
    public List<(string Reference, string Name)> Institutions { get; } = [];
    /// <summary>What is wrong with the form's values (shown instead of the figures), or null.</summary>
    public string? Invalid { get; private set; }
    public int Calls { get; private set; }
    public long Milliseconds { get; private set; }

    public async Task OnGetAsync(CancellationToken ct) => await Load(ct);

    /// <summary>The figures shown, as CSV: one line per table row (the whole period, each month, each institution).</summary>
    public async Task<IActionResult> OnGetCsvAsync(CancellationToken ct)
    {
        await Load(ct);
        if (Invalid is not null) return Page();
        var text = new StringBuilder();
        Csv.Line(text, "indicator", "group", "by", "key", "label", "numerator", "denominator", "count", "score");
        foreach (var s in Shown)
        {
            IEnumerable<(string By, FigureRow Row)> rows = [("period", new FigureRow($"{From}/{To}", Scope(), s.Total)), .. s.Months.Select(m => ("month", m)), .. s.Institutions.Select(i => ("institution", i))];
            foreach (var (by, row) in rows)
                Csv.Line(text, s.Indicator.Id, s.Group.Code, by, row.Key, row.Label, row.Figures.Numerator, row.Figures.Denominator, row.Figures.Count, row.Figures.Score);
        }
        return File(Csv.Bytes(text), Csv.ContentType, $"indicators-{From}-{To}.csv");
    }

    /// <summary>The chart data island: per series, the plotted values by month and by institution.</summary>
    public string ChartJson() => JsonSerializer.Serialize(Shown.Select(s => new
    {
        key = s.Key,
        unit = s.Group.Scoring switch { Scoring.Proportion => "%", Scoring.Median => T["hours"], _ => T["count"] },
        label = T[s.Group.Label],
        months = s.Months.Select(m => m.Label), monthValues = s.Months.Select(m => m.Figures.Plotted(s.Group.Scoring)),
        institutions = s.Institutions.Select(i => i.Label), institutionValues = s.Institutions.Select(i => i.Figures.Plotted(s.Group.Scoring)),
    }));

    public string Scope() => ReporterRef is { } r ? Name(r) : T["The whole group"];

    public string Name(string reference) => reference == "none" ? T["No managing institution"]
        : Institutions.FirstOrDefault(i => i.Reference == reference).Name ?? reference;

    /// <summary>The drill-down's address for a count: the period (or one month), the reporter, the group's population, an institution stratum.</summary>
    public string ListLink(Series s, string population, string from, string to, string? institution) =>
        $"/indicators/list?measure={s.Indicator.Id}&group={s.Group.Code}&population={population}&from={from}&to={to}"
        + "&reporter=" + Uri.EscapeDataString(Reporter ?? WholeGroup)
        + (institution is null ? "" : "&institution=" + Uri.EscapeDataString(institution));

    private async Task Load(CancellationToken ct)
    {
        var now = DateTime.UtcNow;
        To ??= now.ToString("yyyy-MM", CultureInfo.InvariantCulture);
        From ??= now.AddMonths(-11).ToString("yyyy-MM", CultureInfo.InvariantCulture);
        Reporter ??= SignedIn!.Institution ?? WholeGroup; // an institution may see its own figures; the group's systems all
        Invalid = Check();
        if (Invalid is not null)
        {
            Response.StatusCode = StatusCodes.Status400BadRequest;
            return;
        }
        var clock = Stopwatch.StartNew();
        // The directory first (names for the institutions), then one indicator for the whole period: a refusal shows at once.
        foreach (var o in await Api.SearchAll<Organization>("Organization?_count=200", 2000, ct))
            Institutions.Add(($"Organization/{o.Id}", o.Name ?? o.Id ?? ""));
        Institutions.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        Calls = 1 + Institutions.Count / 200;
        var reports = new Dictionary<(string Id, string Month), MeasureReport>();
        var first = IndicatorCatalog.All[0].Id;
        reports[(first, "")] = await Evaluate(first, From, To, ct);
        var jobs = IndicatorCatalog.All.SelectMany(i => Months.Select(m => (i.Id, Month: m)).Prepend((i.Id, Month: ""))).Where(j => !reports.ContainsKey(j)).ToList();
        using var gate = new SemaphoreSlim(Parallel);
        var done = await System.Threading.Tasks.Task.WhenAll(jobs.Select(async j =>
        {
            await gate.WaitAsync(ct);
            try { return (j, Report: await Evaluate(j.Id, j.Month.Length == 0 ? From : j.Month, j.Month.Length == 0 ? To : j.Month, ct)); }
            finally { gate.Release(); }
        }));
        foreach (var (j, report) in done) reports[j] = report;
        Calls += 1 + jobs.Count;
        foreach (var indicator in IndicatorCatalog.All)
            foreach (var group in indicator.Groups)
            {
                var whole = reports[(indicator.Id, "")];
                Shown.Add(new Series(indicator, group, IndicatorCatalog.Whole(group, whole),
                    [.. Months.Select(m => new FigureRow(m, m, IndicatorCatalog.Whole(group, reports[(indicator.Id, m)])))],
                    [.. IndicatorCatalog.ByInstitution(group, whole).Select(x => new FigureRow(x.Institution, Name(x.Institution), x.Figures)).OrderBy(r => r.Label, StringComparer.Ordinal)]));
            }
        Milliseconds = clock.ElapsedMilliseconds;
    }

    private Task<MeasureReport> Evaluate(string measure, string from, string to, CancellationToken ct) =>
        Api.Read<MeasureReport>($"Measure/{measure}/$evaluate-measure?periodStart={from}&periodEnd={to}"
                                + (ReporterRef is { } r ? "&reporter=" + Uri.EscapeDataString(r) : ""), ct);

    private string? Check()
    {
        if (!Month(From!, out var from)) return T.Format("'{0}' is not a month (YYYY-MM).", From);
        if (!Month(To!, out var to)) return T.Format("'{0}' is not a month (YYYY-MM).", To);
        if (to < from) return T["The period ends before it starts."];
        var count = (to.Year - from.Year) * 12 + to.Month - from.Month + 1;
        if (count > MaxMonths) return T.Format("Choose at most {0} months.", MaxMonths);
        if (Reporter != WholeGroup && !ReporterPattern().IsMatch(Reporter!)) return T.Format("'{0}' is not an institution (Organization/id).", Reporter);
        for (var m = from; m <= to; m = m.AddMonths(1)) Months.Add(m.ToString("yyyy-MM", CultureInfo.InvariantCulture));
        return null;
    }

    public static bool Month(string text, out DateOnly month) =>
        DateOnly.TryParseExact(text + "-01", "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out month);

    [GeneratedRegex("^Organization/[A-Za-z0-9.-]{1,64}$")]
    public static partial Regex ReporterPattern();

    protected override IReadOnlyDictionary<string, string>? Chinese => Zh;

    internal static readonly IReadOnlyDictionary<string, string> Zh = new Dictionary<string, string>
    {
        ["Indicator dashboard"] = "指标看板",
        ["From month"] = "起始月份",
        ["To month"] = "结束月份",
        ["Reported for"] = "统计范围",
        ["The whole group"] = "整个集团",
        ["Show"] = "显示",
        ["Download CSV"] = "下载 CSV",
        ["No managing institution"] = "无管理机构",
        ["Residents with a family doctor"] = "签约家庭医生的居民",
        ["Share of residents with a family-doctor contract"] = "家庭医生签约率",
        ["Care inside the group"] = "集团内就诊",
        ["Share of encounters inside the group"] = "集团内就诊占比",
        ["Share of encounters outside the group"] = "集团外就诊占比",
        ["Chronic case management"] = "慢病个案管理",
        ["Residents under case management"] = "纳入个案管理的居民",
        ["Referrals"] = "转诊",
        ["Referrals up"] = "上转",
        ["Referrals down"] = "下转",
        ["Median hours to accept a referral"] = "转诊接收时间中位数（小时）",
        ["High-risk residents with a care plan"] = "有照护计划的高风险居民",
        ["Share of high-risk residents with an active care plan"] = "高风险居民中有生效照护计划的比例",
        ["By month"] = "按月",
        ["By institution, whole period"] = "按机构（整个期间）",
        ["Month"] = "月份",
        ["Numerator"] = "分子",
        ["Denominator"] = "分母",
        ["Count"] = "数量",
        ["Share"] = "比例",
        ["Median (hours)"] = "中位数（小时）",
        ["Whole period"] = "整个期间",
        ["hours"] = "小时",
        ["count"] = "数量",
        ["Chart"] = "图表",
        ["the table beside it holds the same numbers"] = "旁边的表格包含相同数据",
        ["'{0}' is not a month (YYYY-MM)."] = "“{0}”不是月份（YYYY-MM）。",
        ["The period ends before it starts."] = "结束月份早于起始月份。",
        ["Choose at most {0} months."] = "最多选择 {0} 个月。",
        ["'{0}' is not an institution (Organization/id)."] = "“{0}”不是机构（Organization/id）。",
        ["{0} API calls in {1} ms"] = "{0} 次 API 调用，用时 {1} 毫秒",
        ["Select a number to see the residents behind it."] = "点击数字可查看其对应的居民名单。",
        ["No data in this period."] = "此期间无数据。",
    };
}
