using Hl7.Fhir.Model;

namespace Interop.Server.Pages.Indicators;

/// <summary>How a group of an indicator reads: a share (numerator of denominator), a count of a cohort, or a median in hours.</summary>
public enum Scoring { Proportion, Cohort, Median }

/// <summary>A group of an indicator's MeasureReport the dashboard shows (README: "Indicators").</summary>
public sealed record GroupInfo(string Code, string Label, Scoring Scoring)
{
    /// <summary>The population a count of this group is (what a drill-down lists).</summary>
    public string CountPopulation => Scoring switch { Scoring.Proportion => "numerator", Scoring.Cohort => "initial-population", _ => "measure-population" };
}

public sealed record IndicatorInfo(string Id, string Title, IReadOnlyList<GroupInfo> Groups);

/// <summary>The figures of a group, or of one stratum of it: the counts its scoring has and its score.</summary>
public sealed record Figures(int? Numerator, int? Denominator, int? Count, decimal? Score)
{
    /// <summary>What the charts draw: a share in percent, a count, or hours.</summary>
    public decimal? Plotted(Scoring scoring) => scoring switch
    {
        Scoring.Proportion => Score is { } s ? Math.Round(s * 100, 1) : null,
        Scoring.Cohort => Count,
        _ => Score,
    };

    public static Figures Of(Scoring scoring, IEnumerable<(string Code, int? Count)> populations, Quantity? score)
    {
        var counts = populations.ToDictionary(p => p.Code, p => p.Count ?? 0);
        return scoring switch
        {
            Scoring.Proportion => new Figures(counts.GetValueOrDefault("numerator"), counts.GetValueOrDefault("denominator"), null, score?.Value),
            Scoring.Cohort => new Figures(null, null, counts.GetValueOrDefault("initial-population"), null),
            _ => new Figures(null, null, counts.GetValueOrDefault("measure-population"), score?.Value),
        };
    }
}

/// <summary>The group's five indicators and how to read their reports.</summary>
public static class IndicatorCatalog
{
    public static readonly IReadOnlyList<IndicatorInfo> All =
    [
        new("contracted-share", "Residents with a family doctor", [new("contracted", "Share of residents with a family-doctor contract", Scoring.Proportion)]),
        new("care-inside-group", "Care inside the group",
        [
            new("inside", "Share of encounters inside the group", Scoring.Proportion),
            new("outside", "Share of encounters outside the group", Scoring.Proportion),
        ]),
        new("case-management", "Chronic case management", [new("managed", "Residents under case management", Scoring.Cohort)]),
        new("referrals", "Referrals",
        [
            new("up", "Referrals up", Scoring.Cohort),
            new("down", "Referrals down", Scoring.Cohort),
            new("time-to-accept", "Median hours to accept a referral", Scoring.Median),
        ]),
        new("high-risk-care-plan", "High-risk residents with a care plan", [new("planned", "Share of high-risk residents with an active care plan", Scoring.Proportion)]),
    ];

    public static IndicatorInfo? Find(string id) => All.FirstOrDefault(i => i.Id == id);

    public static MeasureReport.GroupComponent? Group(MeasureReport report, string code) =>
        report.Group.FirstOrDefault(g => g.Code?.Text == code);

    public static Figures Whole(GroupInfo info, MeasureReport report) =>
        Group(report, info.Code) is { } g ? Figures.Of(info.Scoring, g.Population.Select(p => (Code(p.Code), p.Count)), g.MeasureScore) : Figures.Of(info.Scoring, [], null);

    /// <summary>The institution strata of a group: the managing institution ("Organization/x", or "none") and its figures.</summary>
    public static IEnumerable<(string Institution, Figures Figures)> ByInstitution(GroupInfo info, MeasureReport report) =>
        Group(report, info.Code)?.Stratifier.Where(s => s.Code.FirstOrDefault()?.Text == "institution").SelectMany(s => s.Stratum)
            .Select(s => (s.Value?.Text ?? "none", Figures.Of(info.Scoring, s.Population.Select(p => (Code(p.Code), p.Count)), s.MeasureScore))) ?? [];

    private static string Code(CodeableConcept? concept) => concept?.Coding.FirstOrDefault()?.Code ?? concept?.Text ?? "";
}

/// <summary>A table of figures for the _FigureRows partial: by month (drill-down per month) or by institution (per stratum).</summary>
public sealed record FigureTable(IndexModel Page, Series Series, IReadOnlyList<FigureRow> Rows, string KeyHeader, bool ByMonth);
