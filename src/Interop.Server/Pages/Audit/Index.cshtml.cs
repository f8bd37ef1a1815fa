using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Hl7.Fhir.Model;
using Interop.Fhir.Formats;
using Interop.Server.Rest;
using Interop.Server.Web;
using Microsoft.AspNetCore.Mvc;

namespace Interop.Server.Pages.Audit;

/// <summary>A day's hash chains as $verify answered: intact or broken, how many records, how many chains, the problem.</summary>
public sealed record DayCheck(DateOnly Day, bool Intact, long Checked, int Chains, string? Problem);

/// <summary>
/// The auditor console: the access log searched through the API (AuditEvent?patient, agent, agent-org, date, outcome,
/// purpose=BTG) with the auditor's token, paged with the API's cursor; a resident's access report ($access-report); the
/// hash chains of each day of the period ($verify per day); the current search as CSV or NDJSON. Only auditors may
/// read the log: the API refuses anyone else and the page shows that refusal.
/// </summary>
public sealed partial class IndexModel : PageBase
{
    public const int PageSize = 50, MaxExport = 10_000, MaxVerifiedDays = 31;

    [BindProperty(SupportsGet = true)] public string? Patient { get; set; }
    [BindProperty(SupportsGet = true)] public string? Agent { get; set; }
    [BindProperty(SupportsGet = true)] public string? Org { get; set; }
    [BindProperty(SupportsGet = true)] public string? From { get; set; }
    [BindProperty(SupportsGet = true)] public string? To { get; set; }
    [BindProperty(SupportsGet = true)] public string? Outcome { get; set; }
    [BindProperty(SupportsGet = true)] public bool BreakGlass { get; set; }
    [BindProperty(SupportsGet = true)] public string? Cursor { get; set; }

    public List<AuditRow> Rows { get; } = [];
    public int? Total { get; private set; }
    public string? NextCursor { get; private set; }
    public List<DayCheck> Chains { get; } = [];
    public List<AccessEntry> Report { get; } = [];
    public string? Invalid { get; private set; }

    public async Task OnGetAsync(CancellationToken ct)
    {
        if (!Check()) return;
        var page = await Api.Search(Query(PageSize) + (string.IsNullOrEmpty(Cursor) ? "" : "&_cursor=" + Uri.EscapeDataString(Cursor)), ct);
        Total = page.Total;
        Rows.AddRange(page.Entry.Select(e => e.Resource).OfType<AuditEvent>().Select(AuditRow.Of));
        if (page.NextLink is { } next && Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(next.Query).TryGetValue("_cursor", out var c)) NextCursor = c;
        if (PatientRef() is { } patient) await AccessReport(patient, ct);
        await VerifyDays(ct);
    }

    /// <summary>The whole current search (every page, up to <see cref="MaxExport"/> records) as CSV or, with format=ndjson, as NDJSON.</summary>
    public async Task<IActionResult> OnGetExportAsync(string? format, CancellationToken ct)
    {
        if (!Check()) return Page();
        var events = await Api.SearchAll<AuditEvent>(Query(1000), MaxExport, ct);
        if (format == "ndjson")
        {
            var lines = new StringBuilder();
            foreach (var e in events) lines.Append(FhirSerialization.ToJson(e)).Append('\n');
            return File(Encoding.UTF8.GetBytes(lines.ToString()), "application/fhir+ndjson", $"access-log-{From}-{To}.ndjson");
        }
        var text = new StringBuilder();
        Csv.Line(text, "id", "recorded", "subtype", "action", "outcome", "person", "institution", "client", "residents", "what", "break_glass", "outcome_desc");
        foreach (var r in events.Select(AuditRow.Of))
            Csv.Line(text, r.Id, r.Recorded?.UtcDateTime.ToString("O", CultureInfo.InvariantCulture), r.Subtype, r.Action, r.Outcome, r.Person, r.Institution, r.Client,
                string.Join(' ', r.Residents), string.Join(' ', r.What), r.BreakGlass, r.OutcomeDesc);
        return File(Csv.Bytes(text), Csv.ContentType, $"access-log-{From}-{To}.csv");
    }

    /// <summary>The page's own address with the filters (and optionally a cursor or handler).</summary>
    public string Link(string? cursor = null, string? handler = null, string? format = null)
    {
        var q = new List<string>();
        void Add(string name, string? value) { if (!string.IsNullOrEmpty(value)) q.Add($"{name}={Uri.EscapeDataString(value)}"); }
        Add("handler", handler); Add("format", format);
        Add("patient", Patient); Add("agent", Agent); Add("org", Org); Add("from", From); Add("to", To); Add("outcome", Outcome);
        if (BreakGlass) q.Add("breakglass=true");
        Add("cursor", cursor);
        return "/audit?" + string.Join('&', q);
    }

    // The API's search for the filters; the date range covers whole UTC days.
    private string Query(int count)
    {
        var q = new List<string> { "_sort=-date", $"_count={count}", "_total=accurate", $"date=ge{From}", $"date=le{To}" };
        if (PatientRef() is { } p) q.Add("patient=" + Uri.EscapeDataString(p));
        if (!string.IsNullOrEmpty(Agent)) q.Add("agent=" + Uri.EscapeDataString(Agent.Trim()));
        if (OrgRef() is { } o) q.Add("agent-org=" + Uri.EscapeDataString(o));
        if (!string.IsNullOrEmpty(Outcome)) q.Add("outcome=" + Outcome);
        if (BreakGlass) q.Add("purpose=BTG");
        return "AuditEvent?" + string.Join('&', q);
    }

    private string? PatientRef() => string.IsNullOrWhiteSpace(Patient) ? null : Patient.Trim().StartsWith("Patient/", StringComparison.Ordinal) ? Patient.Trim() : "Patient/" + Patient.Trim();
    private string? OrgRef() => string.IsNullOrWhiteSpace(Org) ? null : Org.Trim().StartsWith("Organization/", StringComparison.Ordinal) ? Org.Trim() : "Organization/" + Org.Trim();

    private async System.Threading.Tasks.Task AccessReport(string patient, CancellationToken ct)
    {
        var end = Day(To!).AddDays(1).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var report = (Parameters)await Api.Send(HttpMethod.Get, $"AuditEvent/$access-report?patient={Uri.EscapeDataString(patient)}&start={From}&end={end}", null, ct);
        foreach (var access in report.Parameter.Where(p => p.Name == "access"))
        {
            string? Part(string name) => access.Part.FirstOrDefault(x => x.Name == name)?.Value switch
            {
                ResourceReference r => r.Reference,
                PrimitiveType v => v.ToString(),
                _ => null,
            };
            Report.Add(new AccessEntry(Part("recorded"), Part("institution"), Part("person"), Part("client"), Part("subtype"), Part("outcome"), Part("what"), Part("breakGlass") == "true", Part("reason")));
        }
    }

    // $verify for each day of the period (the last 31 days of it at most), four at a time.
    private async System.Threading.Tasks.Task VerifyDays(CancellationToken ct)
    {
        var to = Day(To!);
        var from = Day(From!);
        if (to.DayNumber - from.DayNumber >= MaxVerifiedDays) from = to.AddDays(-(MaxVerifiedDays - 1));
        var days = Enumerable.Range(0, to.DayNumber - from.DayNumber + 1).Select(i => from.AddDays(i)).ToList();
        using var gate = new SemaphoreSlim(4);
        var checks = await System.Threading.Tasks.Task.WhenAll(days.Select(async day =>
        {
            await gate.WaitAsync(ct);
            try
            {
                var d = day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
                var p = (Parameters)await Api.Send(HttpMethod.Get, $"AuditEvent/$verify?start={d}&end={d}", null, ct);
                var result = p.Parameter.FirstOrDefault(x => x.Name == "result")?.Value?.ToString();
                long.TryParse(p.Parameter.FirstOrDefault(x => x.Name == "checked")?.Value?.ToString(), CultureInfo.InvariantCulture, out var count);
                int.TryParse(p.Parameter.FirstOrDefault(x => x.Name == "chains")?.Value?.ToString(), CultureInfo.InvariantCulture, out var chains);
                var problem = string.Join(" ", p.Parameter.Where(x => x.Name is "problem" or "record").Select(x => x.Value?.ToString()));
                return new DayCheck(day, result == "intact", count, chains, problem.Length == 0 ? null : problem);
            }
            finally { gate.Release(); }
        }));
        Chains.AddRange(checks.OrderByDescending(c => c.Day));
    }

    private bool Check()
    {
        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        To = string.IsNullOrEmpty(To) ? today.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) : To;
        From = string.IsNullOrEmpty(From) ? today.AddDays(-6).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) : From;
        Invalid = !IsDay(From) ? T.Format("'{0}' is not a date (YYYY-MM-DD).", From)
            : !IsDay(To) ? T.Format("'{0}' is not a date (YYYY-MM-DD).", To)
            : Day(To) < Day(From) ? T["The period ends before it starts."]
            : Outcome is { Length: > 0 } and not ("0" or "4" or "8") ? T["The outcome is 0, 4 or 8."]
            : PatientRef() is { } p && !Reference().IsMatch(p) ? T["A resident is Patient/id or the id."]
            : OrgRef() is { } o && !Reference().IsMatch(o) ? T["An institution is Organization/id or the id."]
            : Agent is { Length: > 256 } ? T["The person is too long."]
            : null;
        if (Invalid is not null) Response.StatusCode = StatusCodes.Status400BadRequest;
        return Invalid is null;
    }

    private static bool IsDay(string? text) => DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out _);
    private static DateOnly Day(string text) => DateOnly.ParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture);

    [GeneratedRegex("^(Patient|Organization)/[A-Za-z0-9.-]{1,64}$")]
    private static partial Regex Reference();

    protected override IReadOnlyDictionary<string, string>? Chinese => Zh;

    private static readonly IReadOnlyDictionary<string, string> Zh = new Dictionary<string, string>
    {
        ["Auditor console"] = "审计控制台",
        ["Person"] = "人员",
        ["user name, fhirUser or client id"] = "用户名、fhirUser 或客户端编号",
        ["From"] = "起始日期",
        ["To"] = "结束日期",
        ["Outcome"] = "结果",
        ["any"] = "全部",
        ["0 success"] = "0 成功",
        ["4 refused or invalid"] = "4 被拒绝或无效",
        ["8 server failure"] = "8 服务器故障",
        ["Break-glass only"] = "仅紧急访问",
        ["Access log"] = "访问日志",
        ["{0} records match."] = "共 {0} 条记录。",
        ["Recorded"] = "记录时间",
        ["Interaction"] = "操作",
        ["Client"] = "客户端",
        ["Residents"] = "居民",
        ["What"] = "访问内容",
        ["Break-glass reason"] = "紧急访问原因",
        ["Next page"] = "下一页",
        ["First page"] = "第一页",
        ["Export CSV"] = "导出 CSV",
        ["Export NDJSON"] = "导出 NDJSON",
        ["Access report for {0}"] = "{0} 的访问报告",
        ["Who accessed this resident's record, when, from which institution and why."] = "谁在何时从哪个机构、因何访问了该居民的记录。",
        ["Hash chains"] = "哈希链",
        ["Day"] = "日期",
        ["Records checked"] = "已校验记录",
        ["Chains"] = "链数",
        ["intact"] = "完整",
        ["broken"] = "已损坏",
        ["All chains of the period verified."] = "该期间所有哈希链校验通过。",
        ["A chain is broken."] = "有哈希链损坏。",
        ["No records."] = "无记录。",
        ["yes"] = "是",
        ["'{0}' is not a date (YYYY-MM-DD)."] = "“{0}”不是日期（YYYY-MM-DD）。",
        ["The period ends before it starts."] = "结束日期早于起始日期。",
        ["The outcome is 0, 4 or 8."] = "结果须为 0、4 或 8。",
        ["A resident is Patient/id or the id."] = "居民应为 Patient/id 或编号。",
        ["An institution is Organization/id or the id."] = "机构应为 Organization/id 或编号。",
        ["The person is too long."] = "人员名称过长。",
        ["Institution id"] = "机构编号",
    };
}

/// <summary>A line of $access-report.</summary>
public sealed record AccessEntry(string? Recorded, string? Institution, string? Person, string? Client, string? Subtype, string? Outcome, string? What, bool BreakGlass, string? Reason);
