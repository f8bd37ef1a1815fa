using Hl7.Fhir.Model;
using Interop.Server.Web;
using Microsoft.AspNetCore.Mvc;

namespace Interop.Server.Pages.Indicators;

/// <summary>
/// The residents behind a number of the dashboard: $evaluate-measure with reportType=subject-list for the same period
/// and reporter, the population's List (of the whole report or of one institution's stratum). The API gives lists to
/// the group's own systems only; anyone else sees its refusal.
/// </summary>
public sealed class ListModel : PageBase
{
    public const int Named = 200;

    [BindProperty(SupportsGet = true)] public string? Measure { get; set; }
    [BindProperty(SupportsGet = true)] public string? Group { get; set; }
    [BindProperty(SupportsGet = true)] public string? Population { get; set; }
    [BindProperty(SupportsGet = true)] public string? From { get; set; }
    [BindProperty(SupportsGet = true)] public string? To { get; set; }
    [BindProperty(SupportsGet = true)] public string? Reporter { get; set; }
    [BindProperty(SupportsGet = true)] public string? Institution { get; set; }

    public IndicatorInfo? Indicator { get; private set; }
    public GroupInfo? GroupInfo { get; private set; }
    public int? Count { get; private set; }
    public List<(string Id, string? Name, string? Institution)> Residents { get; } = [];
    public string? Invalid { get; private set; }

    public string Back => $"/indicators?from={From}&to={To}&reporter={Uri.EscapeDataString(Reporter ?? IndexModel.WholeGroup)}";
    private string? ReporterRef => Reporter is null or IndexModel.WholeGroup ? null : Reporter;

    public async Task OnGetAsync(CancellationToken ct)
    {
        Indicator = IndicatorCatalog.Find(Measure ?? "");
        GroupInfo = Indicator?.Groups.FirstOrDefault(g => g.Code == Group);
        Invalid = Indicator is null ? T["Unknown indicator."]
            : GroupInfo is null ? T["Unknown group of the indicator."]
            : Population is not ("numerator" or "denominator" or "initial-population" or "measure-population") ? T["Unknown population."]
            : !IndexModel.Month(From ?? "", out _) || !IndexModel.Month(To ?? "", out _) ? T["The period must be two months (YYYY-MM)."]
            : ReporterRef is { } r && !IndexModel.ReporterPattern().IsMatch(r) ? T["Unknown institution."]
            : !string.IsNullOrEmpty(Institution) && !IndexModel.ReporterPattern().IsMatch(Institution) ? T["Unknown institution."]
            : null;
        if (Invalid is not null)
        {
            Response.StatusCode = StatusCodes.Status400BadRequest;
            return;
        }
        var report = await Api.Read<MeasureReport>($"Measure/{Indicator!.Id}/$evaluate-measure?reportType=subject-list&periodStart={From}&periodEnd={To}"
                                                   + (ReporterRef is { } reporter ? "&reporter=" + Uri.EscapeDataString(reporter) : ""), ct);
        var group = IndicatorCatalog.Group(report, GroupInfo!.Code);
        var populations = string.IsNullOrEmpty(Institution)
            ? group?.Population.Select(p => (p.Code, p.Count, p.SubjectResults))
            : group?.Stratifier.Where(s => s.Code.FirstOrDefault()?.Text == "institution").SelectMany(s => s.Stratum)
                .FirstOrDefault(s => s.Value?.Text == Institution)?.Population.Select(p => (p.Code, p.Count, p.SubjectResults));
        var population = populations?.FirstOrDefault(p => p.Code?.Coding.FirstOrDefault()?.Code == Population);
        Count = population?.Count ?? 0;
        var list = population?.SubjectResults?.Reference is { } reference
            ? report.Contained.OfType<List>().FirstOrDefault(l => "#" + l.Id == reference) : null;
        var ids = list?.Entry.Select(e => e.Item.Reference!).Where(r => r.StartsWith("Patient/", StringComparison.Ordinal)).Select(r => r["Patient/".Length..]).ToList() ?? [];
        // Their names, one search (what the API lets this user see of them).
        var named = ids.Count == 0 ? [] : await Api.SearchAll<Patient>($"Patient?_id={string.Join(',', ids.Take(Named))}&_count={Named}", Named, ct);
        var byId = named.Where(p => p.Id is not null).ToDictionary(p => p.Id!, p => p);
        foreach (var id in ids)
        {
            var p = byId.GetValueOrDefault(id);
            var name = p?.Name.FirstOrDefault() is { } n ? string.Join(' ', new[] { n.Family }.Concat(n.Given).Where(x => !string.IsNullOrEmpty(x))) : null;
            Residents.Add((id, name, p?.ManagingOrganization?.Reference));
        }
    }

    protected override IReadOnlyDictionary<string, string>? Chinese => Zh;

    private static readonly IReadOnlyDictionary<string, string> Zh = new Dictionary<string, string>(IndexModel.Zh)
    {
        ["Residents behind the number"] = "数字背后的居民",
        ["Back to the dashboard"] = "返回指标看板",
        ["Unknown indicator."] = "未知指标。",
        ["Unknown group of the indicator."] = "该指标没有此分组。",
        ["Unknown population."] = "未知人群。",
        ["Unknown institution."] = "未知机构。",
        ["The period must be two months (YYYY-MM)."] = "期间须为两个月份（YYYY-MM）。",
        ["numerator"] = "分子",
        ["denominator"] = "分母",
        ["initial-population"] = "人群",
        ["measure-population"] = "计量人群",
        ["Name"] = "姓名",
        ["Period"] = "期间",
        ["{0} counted; {1} residents listed."] = "计数 {0}；列出 {1} 位居民。",
        ["A count of encounters or referrals lists each resident once."] = "就诊或转诊的计数中，每位居民只列一次。",
    };
}
