using Hl7.Fhir.Model;

namespace Interop.Fhir.Measures;

/// <summary>
/// Turns an indicator's rows into a summary MeasureReport: per group its populations and score for the whole
/// population, and per stratifier its strata (ordered by value) with their own populations and scores. A subject-list
/// report also names each population's residents: a contained List of Patient references (subjectResults), for the
/// whole population and for each institution stratum. A population that counts events (encounters, referrals, tasks)
/// lists the residents with at least one.
/// </summary>
public static class MeasureReportBuilder
{
    public const string PopulationSystem = "http://terminology.hl7.org/CodeSystem/measure-population";

    public static MeasureReport Build(Indicator indicator, string canonical, MeasureParameters p, IReadOnlyList<List<StratumRow>> results,
        IReadOnlyList<List<SubjectRow>>? subjects = null)
    {
        var report = new MeasureReport
        {
            Status = MeasureReport.MeasureReportStatus.Complete,
            Type = subjects is null ? MeasureReport.MeasureReportType.Summary : MeasureReport.MeasureReportType.SubjectList,
            Measure = canonical,
            Date = new FhirDateTime(DateTimeOffset.UtcNow).Value,
            Period = new Period { Start = p.PeriodStart, End = p.PeriodEnd },
            Reporter = p.Reporter is { } reporter ? new ResourceReference(reporter) : null,
        };
        for (var s = 0; s < indicator.Statements.Count; s++)
            foreach (var definition in indicator.Statements[s].Groups)
            {
                var group = Group(definition, results[s]);
                if (subjects is not null) Lists(report, definition, group, subjects[s]);
                report.Group.Add(group);
            }
        return report;
    }

    /// <summary>Every resident a subject-list report names.</summary>
    public static IReadOnlyCollection<string> Subjects(MeasureReport report) =>
        report.Contained.OfType<List>().SelectMany(l => l.Entry).Select(e => e.Item.Reference!).ToHashSet(StringComparer.Ordinal);

    // Each population's residents as a contained List, for the whole population and each institution stratum
    // (a resident counts in one institution: the one managing them). Populations read from the same column share a List.
    private static void Lists(MeasureReport report, GroupDefinition definition, MeasureReport.GroupComponent group, List<SubjectRow> rows)
    {
        var made = new Dictionary<(string Column, string? Org), string>();
        ResourceReference Members(string column, string? org)
        {
            if (!made.TryGetValue((column, org), out var id))
            {
                id = "list-" + (report.Contained.Count + 1).ToString(System.Globalization.CultureInfo.InvariantCulture);
                var members = rows.Where(r => (org is null || r.Org == org) && Count(r.Columns, column) > 0).Select(r => r.Subject).Order(StringComparer.Ordinal);
                report.Contained.Add(new Hl7.Fhir.Model.List
                {
                    Id = id, Status = Hl7.Fhir.Model.List.ListStatus.Current, Mode = ListMode.Snapshot, Title = org is null ? column : $"{column} {org}",
                    Entry = [.. members.Select(m => new Hl7.Fhir.Model.List.EntryComponent { Item = new ResourceReference(m) })],
                });
                made[(column, org)] = id;
            }
            return new ResourceReference("#" + id);
        }
        for (var i = 0; i < definition.Populations.Count; i++)
            group.Population[i].SubjectResults = Members(definition.Populations[i].Column, null);
        foreach (var stratifier in group.Stratifier.Where(s => s.Code.FirstOrDefault()?.Text == "institution"))
            foreach (var stratum in stratifier.Stratum)
                for (var i = 0; i < definition.Populations.Count; i++)
                    stratum.Population[i].SubjectResults = Members(definition.Populations[i].Column, stratum.Value?.Text);
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

    private static int Count(StratumRow? row, string column) => row is null ? 0 : Count(row.Columns, column);

    private static int Count(IReadOnlyDictionary<string, object?> columns, string column) =>
        columns.GetValueOrDefault(column) is { } v ? Convert.ToInt32(v, System.Globalization.CultureInfo.InvariantCulture) : 0;

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
