using Hl7.Fhir.Model;

namespace Interop.Fhir.Search;

/// <summary>
/// The rewriting stage between the typed query and the SQL compiler, in a fixed order: references to this
/// server's own base URL become local keys, then date bounds on one parameter merge into one range. (The
/// pipeline's authorise stage adds criteria before this; value-set expansion for :in / :below belongs here.)
/// Each rewriter takes criteria and returns criteria; none sees or produces SQL.
/// </summary>
public static class QueryRewriters
{
    public static IReadOnlyList<Criterion> Apply(IReadOnlyList<Criterion> criteria, string baseUrl) =>
        MergeDateRanges(criteria.Select(c => LocalReferences(c, baseUrl)).ToList());

    /// <summary>subject=https://this.server/fhir/Patient/1 is subject=Patient/1: the index stores local references as keys.</summary>
    public static Criterion LocalReferences(Criterion criterion, string baseUrl) => criterion switch
    {
        _ when baseUrl == "" => criterion,
        ParamCriterion { Param.Type: SearchParamType.Reference } c when c.Modifier != "identifier" => c with
        {
            Values = c.Values.Select(v => v is ReferenceValue { Form: ReferenceForm.Url } r && r.Value.StartsWith(baseUrl + "/", StringComparison.Ordinal)
                ? ReferenceValue.Parse(r.Value[(baseUrl.Length + 1)..], c.Modifier) : v).ToList(),
        },
        ChainCriterion c => c with { Targets = c.Targets.Select(t => (t.TargetType, LocalReferences(t.Inner, baseUrl))).ToList() },
        HasCriterion c => c with { Inner = LocalReferences(c.Inner, baseUrl) },
        _ => criterion,
    };

    /// <summary>
    /// Merges the date criteria of one parameter that bound it from below (ge, gt) and above (le, lt) into one
    /// range criterion; the rest pass through. A resource then needs one value inside the range, where the spec
    /// would let two different values of a repeating element satisfy the two bounds.
    /// </summary>
    public static IReadOnlyList<Criterion> MergeDateRanges(IReadOnlyList<Criterion> criteria)
    {
        var list = criteria.ToList();
        var bounds = list.OfType<ParamCriterion>()
            .Where(c => c.Param.Type == SearchParamType.Date && !c.Param.IsColumn && c.Modifier is null && c.Values is [DateValue])
            .Select(c => (Criterion: c, Value: (DateValue)c.Values[0]))
            .ToList();
        foreach (var group in bounds.GroupBy(b => b.Criterion.Param.Name))
        {
            var lower = group.FirstOrDefault(b => b.Value.Prefix is Prefix.Ge or Prefix.Gt);
            var upper = group.FirstOrDefault(b => b.Value.Prefix is Prefix.Le or Prefix.Lt);
            if (lower.Criterion is null || upper.Criterion is null) continue;
            var from = lower.Value.Prefix == Prefix.Ge ? lower.Value.Lo : lower.Value.Hi;
            var to = upper.Value.Prefix == Prefix.Le ? upper.Value.Hi : upper.Value.Lo;
            if (from >= to) continue;
            var at = list.IndexOf(lower.Criterion);
            list[at] = new DateRangeCriterion(lower.Criterion.Param, from, to);
            list.Remove(upper.Criterion);
        }
        return list;
    }
}
