using Interop.Fhir.Errors;
using Interop.Fhir.Indexing;
using Interop.Fhir.Pipeline;

namespace Interop.Fhir.Measures;

/// <summary>$evaluate-measure's parameters, checked: the Measure's id, the period [Start, End) in UTC as given, the reporter.</summary>
public sealed record MeasureParameters(string MeasureId, DateTimeOffset Start, DateTimeOffset End, string PeriodStart, string PeriodEnd, string? Reporter)
{
    /// <summary>reportType=subject-list: the residents of each population as well as the counts.</summary>
    public bool SubjectList { get; init; }

    private static readonly string[] Known = ["periodStart", "periodEnd", "reporter", "measure", "reportType"];

    /// <summary>Checks the request's parameters; every problem is a 400 naming the parameter.</summary>
    public static MeasureParameters Parse(EvaluateMeasureRequest request)
    {
        foreach (var group in request.Parameters.GroupBy(p => p.Key))
        {
            if (group.Key.StartsWith('_')) continue; // _format, _pretty: the answer's form
            if (!Known.Contains(group.Key))
                throw FhirException.BadRequest($"$evaluate-measure has no parameter '{group.Key}' (it takes {string.Join(", ", Known)}).", group.Key);
            if (group.Count() > 1) throw FhirException.BadRequest($"{group.Key} is given {group.Count()} times; give it once.", group.Key);
        }
        string id;
        if (request.InstanceId is { } instance)
        {
            if (request.Value("measure") is not null)
                throw FhirException.BadRequest("Measure/{id}/$evaluate-measure names its Measure in the URL: leave out measure.", "measure");
            id = instance;
        }
        else id = request.Value("measure") is { Length: > 0 } measure
            ? EvaluateMeasureRequest.MeasureId(measure) ?? throw FhirException.NotFound(
                $"No Measure '{measure}' here: give the id of one of the group's Measures or its canonical URL ({EvaluateMeasureRequest.MeasureBase}…).", "measure")
            : throw FhirException.BadRequest("Measure/$evaluate-measure needs measure: the Measure's id or canonical URL.", "measure");
        if (request.Value("reportType") is { } type && type is not ("summary" or "subject-list"))
            throw FhirException.BadRequest($"reportType '{type}' is not supported: this server answers summary and subject-list reports.", "reportType");
        var (start, _) = Date(request, "periodStart");
        var (_, end) = Date(request, "periodEnd");
        if (end <= start)
            throw FhirException.BadRequest($"periodEnd ({request.Value("periodEnd")}) is before periodStart ({request.Value("periodStart")}).", "periodEnd");
        var reporter = request.Reporter;
        if (reporter is not null && (!reporter.StartsWith("Organization/", StringComparison.Ordinal) || reporter.Length == "Organization/".Length || reporter.IndexOf('/', "Organization/".Length) >= 0))
            throw FhirException.BadRequest($"reporter must be a reference to an Organization (Organization/{{id}}), not '{reporter}'.", "reporter");
        return new MeasureParameters(id, start, end, request.Value("periodStart")!, request.Value("periodEnd")!, reporter) { SubjectList = request.SubjectList };
    }

    // A date of year, month or day precision, as the [lo, hi) it covers.
    private static (DateTimeOffset Lo, DateTimeOffset Hi) Date(EvaluateMeasureRequest request, string name)
    {
        var text = request.Value(name);
        if (string.IsNullOrEmpty(text)) throw FhirException.BadRequest($"$evaluate-measure needs {name} (a date: YYYY, YYYY-MM or YYYY-MM-DD).", name);
        if (text.Contains('T') || !FhirDates.TryParse(text, out var lo, out var hi))
            throw FhirException.BadRequest($"{name} must be a date (YYYY, YYYY-MM or YYYY-MM-DD), not '{text}'.", name);
        return (lo, hi);
    }
}
