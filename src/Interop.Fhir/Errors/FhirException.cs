using Hl7.Fhir.Model;

namespace Interop.Fhir.Errors;

/// <summary>
/// A failure the client must hear about: an HTTP status and the OperationOutcome that explains it.
/// Thrown anywhere below the REST layer; one handler turns it into the response.
/// </summary>
public sealed class FhirException(int status, OperationOutcome outcome)
    : Exception(outcome.Issue.FirstOrDefault()?.Diagnostics ?? $"HTTP {status}")
{
    public int Status { get; } = status;
    public OperationOutcome Outcome { get; } = outcome;
    /// <summary>Seconds after which a retry may succeed (503 and contention answers send Retry-After).</summary>
    public int? RetryAfter { get; init; }

    public static FhirException Of(int status, OperationOutcome.IssueType code, string message, string? expression = null) =>
        new(status, Outcomes.Error(code, message, expression));

    public static FhirException BadRequest(string message, string? expression = null) =>
        Of(400, OperationOutcome.IssueType.Invalid, message, expression);

    public static FhirException NotFound(string message) => Of(404, OperationOutcome.IssueType.NotFound, message);

    public static FhirException Gone(string message) => Of(410, OperationOutcome.IssueType.Deleted, message);

    public static FhirException Conflict(string message) => Of(409, OperationOutcome.IssueType.Conflict, message);

    public static FhirException PreconditionFailed(string message) => Of(412, OperationOutcome.IssueType.Conflict, message);

    public static FhirException NotSupported(int status, string message) => Of(status, OperationOutcome.IssueType.NotSupported, message);

    public static FhirException Unavailable(string message, int retryAfter = 5) =>
        new(503, Outcomes.Error(OperationOutcome.IssueType.Transient, message)) { RetryAfter = retryAfter };

    public static FhirException Busy(string message, int retryAfter = 1) =>
        new(409, Outcomes.Error(OperationOutcome.IssueType.Conflict, message)) { RetryAfter = retryAfter };
}
