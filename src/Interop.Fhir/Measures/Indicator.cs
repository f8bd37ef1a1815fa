namespace Interop.Fhir.Measures;

/// <summary>A population of a group: its code (measure-population code system) and the SQL column that counts it.</summary>
public sealed record PopulationColumn(string Code, string Column);

/// <summary>
/// One group of a Measure's report: its code, scoring (proportion: score = numerator ÷ denominator; cohort: no score;
/// continuous-variable: the score is <see cref="ScoreColumn"/>, in <see cref="ScoreUnit"/>) and its populations.
/// </summary>
public sealed record GroupDefinition(string Code, string Scoring, IReadOnlyList<PopulationColumn> Populations, string? ScoreColumn = null, string? ScoreUnit = null);

/// <summary>
/// One SQL statement of an indicator: <see cref="With"/> (common table expressions) and a select of
/// <see cref="Populations"/> (aggregates, a column each) <see cref="From"/> its rows. <see cref="Sql"/> answers one row
/// for the whole population (stratifier null) and one per stratum (stratifier name, stratum values); <see cref="SubjectSql"/>
/// one row per resident (<see cref="Subject"/>, the Patient's key) and their institution (org), a resident being in a
/// population when its column is above 0. <see cref="Groups"/> read those columns.
/// Parameters: @lo and @hi (the period, [lo, hi) in UTC) and @reporter (a compact key, or null for the whole group).
/// </summary>
public sealed record Statement(string With, string Populations, string From, string Subject, IReadOnlyList<Stratifier> Stratifiers, IReadOnlyList<GroupDefinition> Groups)
{
    public string Sql => With + "\n" + Strata.Select(Populations, From, [.. Stratifiers]);
    public string SubjectSql => With + "\n" + $"select {Subject} as subject, org, {Populations} {From} group by {Subject}, org";
}

/// <summary>One of the group's indicators: the id of its Measure (profiles/Measure-{id}.json) and how it is computed.</summary>
public sealed record Indicator(string Id, IReadOnlyList<Statement> Statements);

/// <summary>A stratifier: its name (components joined by '-', e.g. condition-year) and the SQL expressions of its components.</summary>
public sealed record Stratifier(string Name, params string[] Expressions);

/// <summary>Writes the select list and GROUPING SETS that give the whole population's row and each stratifier's rows.</summary>
public static class Strata
{
    /// <summary>
    /// "select stratifier, stratum, {populations} {from} group by grouping sets ((), …)": the stratifier's name and
    /// its values (text[]) are told apart by GROUPING() over every stratifier expression (a bit set for each one not grouped).
    /// </summary>
    public static string Select(string populations, string from, params Stratifier[] stratifiers)
    {
        var all = stratifiers.SelectMany(s => s.Expressions).Distinct().ToList();
        var grouping = $"grouping({string.Join(", ", all)})";
        string Mask(Stratifier s) => all.Select((e, i) => s.Expressions.Contains(e) ? 0 : 1 << (all.Count - 1 - i)).Sum().ToString(System.Globalization.CultureInfo.InvariantCulture);
        var names = string.Join(' ', stratifiers.Select(s => $"when {grouping} = {Mask(s)} then '{s.Name}'"));
        var values = string.Join(' ', stratifiers.Select(s => $"when {grouping} = {Mask(s)} then array[{string.Join(", ", s.Expressions.Select(e => $"({e})::text"))}]"));
        var sets = string.Join(", ", stratifiers.Select(s => $"({string.Join(", ", s.Expressions)})").Prepend("()"));
        return $"select case {names} end as stratifier, case {values} end as stratum, {populations} {from} group by grouping sets ({sets})";
    }
}
