using Hl7.Fhir.FhirPath;
using Hl7.Fhir.Model;

namespace Interop.Fhir.Validation;

/// <summary>
/// ras-2 ("Must be &lt;= 100": <c>probability.as(decimal) &lt;= 100</c>) answers empty for a prediction without a decimal
/// probability — a qualitative risk only, as the group's stratification writes — and Firely's validator counts
/// empty as a failure. Such a failure is dropped when the prediction it points at has no decimal probability.
/// </summary>
public static class EmptyProbability
{
    public static bool FalseAlarm(Resource resource, OperationOutcome.IssueComponent issue)
    {
        if (issue.Diagnostics?.Contains("ras-2", StringComparison.Ordinal) != true || issue.Expression.FirstOrDefault() is not { } at) return false;
        try
        {
            return resource.Select(at).OfType<RiskAssessment.PredictionComponent>().SingleOrDefault() is { } prediction && prediction.Probability is not FhirDecimal;
        }
        catch (Exception)
        {
            return false; // an expression the engine cannot follow: the issue stands
        }
    }
}
