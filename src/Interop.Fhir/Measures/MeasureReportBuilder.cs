using Hl7.Fhir.Model;

namespace Interop.Fhir.Measures;

/// <summary>
/// Turns an indicator's rows into a summary MeasureReport: per group its populations and score for the whole
/// population, and per stratifier its strata (ordered by value) with their own populations and scores.
/// </summary>
public static class MeasureReportBuilder
{
    public const string PopulationSystem = "http://terminology.hl7.org/CodeSystem/measure-population";

    public static MeasureReport Build(Indicator indicator, string canonical, MeasureParameters p, IReadOnlyList<List<StratumRow>> results)
    {
        var report = new MeasureReport
        {
            Status = MeasureReport.MeasureReportStatus.Complete,
            Type = MeasureReport.MeasureReportType.Summary,
            Measure = canonical,
            Date = new FhirDateTime(DateTimeOffset.UtcNow).Value,
            Period = new Period { Start = p.PeriodStart, End = p.PeriodEnd },
            Reporter = p.Reporter is { } reporter ? new ResourceReference(reporter) : null,
        };
        for (var s = 0; s < indicator.Statements.Count; s++)
            foreach (var definition in indicator.Statements[s].Groups)
                report.Group.Add(Group(definition, results[s]));
        return report;
    }

    private static MeasureReport.GroupComponent Group(GroupDefinition definition, List<StratumRow> rows)
    {
        var whole = rows.FirstOrDefault(r => r.Stratifier is null);
        var group = new MeasureReport.GroupComponent
        {
            Code = new CodeableConcept { Text = definition.Code },
            Population = [.. definition.Populations.Select(c => new MeasureReport.PopulationComponent { Code = Population(c.Code), Count = Count(whole, c.Column) })],
            MeasureScore = Score(definition, whole),
        };
        foreach (var strata in rows.Where(r => r.Stratifier is not null).GroupBy(r => r.Stratifier!))
            group.Stratifier.Add(new MeasureReport.StratifierComponent
            {
                Code = [new CodeableConcept { Text = strata.Key }],
                Stratum = [.. strata.OrderBy(r => string.Join('\u0001', r.Values ?? []), StringComparer.Ordinal).Select(r => Stratum(definition, strata.Key, r))],
            });
        return group;
    }

    private static MeasureReport.StratifierGroupComponent Stratum(GroupDefinition definition, string stratifier, StratumRow row)
    {
        var values = row.Values ?? [];
        var stratum = new MeasureReport.StratifierGroupComponent
        {
            Population = [.. definition.Populations.Select(c => new MeasureReport.StratifierGroupPopulationComponent { Code = Population(c.Code), Count = Count(row, c.Column) })],
            MeasureScore = Score(definition, row),
        };
        if (values.Length == 1) stratum.Value = Value(values[0]);
        else
        {
            var names = stratifier.Split('-');
            stratum.Component = [.. values.Select((v, i) => new MeasureReport.ComponentComponent { Code = new CodeableConcept { Text = names[i] }, Value = Value(v) })];
        }
        return stratum;
    }

    // "system|code" (a condition) as a coding; anything else (a month, a year, Organization/x, none) as text.
    private static CodeableConcept Value(string value) => value.IndexOf('|') is var bar and > 0
        ? new CodeableConcept(value[..bar], value[(bar + 1)..]) { Text = value[(bar + 1)..] }
        : new CodeableConcept { Text = value };

    private static CodeableConcept Population(string code) => new(PopulationSystem, code);

    private static int Count(StratumRow? row, string column) => row?.Columns.GetValueOrDefault(column) is { } v ? Convert.ToInt32(v, System.Globalization.CultureInfo.InvariantCulture) : 0;

    private static Quantity? Score(GroupDefinition definition, StratumRow? row)
    {
        switch (definition.Scoring)
        {
            case "proportion":
                var denominator = Count(row, "denominator");
                var numerator = Count(row, definition.Populations.First(c => c.Code == "numerator").Column);
                return denominator == 0 ? null : new Quantity { Value = Math.Round((decimal)numerator / denominator, 4) };
            case "continuous-variable" when row?.Columns.GetValueOrDefault(definition.ScoreColumn!) is { } score:
                return new Quantity { Value = Math.Round(Convert.ToDecimal(score, System.Globalization.CultureInfo.InvariantCulture), 2), Unit = definition.ScoreUnit, System = "http://unitsofmeasure.org", Code = definition.ScoreUnit };
            default:
                return null;
        }
    }
}
