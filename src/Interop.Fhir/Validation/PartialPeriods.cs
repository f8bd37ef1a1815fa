using Hl7.Fhir.FhirPath;
using Hl7.Fhir.Model;
using Interop.Fhir.Indexing;

namespace Interop.Fhir.Validation;

/// <summary>
/// per-1 ("start SHALL have a lower value than end") compares two dates with FHIRPath, which answers empty for
/// dates of different precision (1990 and 1990-06), and Firely's validator counts empty as a failure: a period a
/// vendor's EMR rightly sends would be refused. Such a failure is dropped when the start's earliest instant does
/// come before the end's latest, the order the invariant means.
/// </summary>
public static class PartialPeriods
{
    public static bool FalseAlarm(Resource resource, OperationOutcome.IssueComponent issue)
    {
        if (issue.Diagnostics?.Contains("per-1", StringComparison.Ordinal) != true || issue.Expression.FirstOrDefault() is not { } at) return false;
        try
        {
            return resource.Select(at).OfType<Period>().SingleOrDefault() is { } period
                   && FhirDates.TryParse(period.Start, out var startLo, out _) && FhirDates.TryParse(period.End, out _, out var endHi)
                   && startLo <= endHi && period.Start!.Length != period.End!.Length;
        }
        catch (Exception)
        {
            return false; // an expression the engine cannot follow: the issue stands
        }
    }
}
