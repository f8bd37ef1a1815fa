using Hl7.Fhir.Model;

namespace Interop.Fhir.Errors;

/// <summary>
/// What kind of failure the library reports. The library never chooses an HTTP status: the web layer maps each
/// kind to one status, in one place (Rest/HttpStatus).
/// </summary>
public enum ErrorKind
{
    /// <summary>The request cannot mean anything (malformed, unknown parameter, too costly).</summary>
    Invalid,
    /// <summary>Well-formed, but breaks a rule of the content (a patch that changes the id, a value the index refuses).</summary>
    Unprocessable,
    NotFound,
    Gone,
    /// <summary>Another request changed the same data; retry may succeed (with RetryAfter when it is contention).</summary>
    Conflict,
    /// <summary>If-Match, If-None-Exist or conditional criteria do not hold.</summary>
    PreconditionFailed,
    /// <summary>The caller may not do this (scopes, access policy).</summary>
    Forbidden,
    /// <summary>The caller is not known (no or bad credentials).</summary>
    Unauthenticated,
    /// <summary>The interaction is not supported on this target.</summary>
    NotSupported,
    NotAcceptable,
    UnsupportedMediaType,
    TooLarge,
    UriTooLong,
    HeadersTooLarge,
    /// <summary>The database is down, saturated or stopped the statement; retry later.</summary>
    Unavailable,
    /// <summary>A defect: the message carries a correlation id, never details.</summary>
    Internal,
}

/// <summary>
/// A failure the client must hear about: its kind and the OperationOutcome that explains it.
/// Thrown anywhere below the REST layer; one handler turns it into the response.
/// </summary>
public sealed class FhirException(ErrorKind kind, OperationOutcome outcome)
    : Exception(outcome.Issue.FirstOrDefault()?.Diagnostics ?? kind.ToString())
{
    public ErrorKind Kind { get; } = kind;
    public OperationOutcome Outcome { get; } = outcome;
    /// <summary>Seconds after which a retry may succeed (unavailable and contention answers send Retry-After).</summary>
    public int? RetryAfter { get; init; }

    public static FhirException Of(ErrorKind kind, OperationOutcome.IssueType code, string message, string? expression = null) =>
        new(kind, Outcomes.Error(code, message, expression));

    public static FhirException BadRequest(string message, string? expression = null) =>
        Of(ErrorKind.Invalid, OperationOutcome.IssueType.Invalid, message, expression);

    public static FhirException TooCostly(string message, string? expression = null) =>
        Of(ErrorKind.Invalid, OperationOutcome.IssueType.TooCostly, message, expression);

    public static FhirException NotFound(string message, string? expression = null) =>
        Of(ErrorKind.NotFound, OperationOutcome.IssueType.NotFound, message, expression);

    public static FhirException Gone(string message, string? expression = null) =>
        Of(ErrorKind.Gone, OperationOutcome.IssueType.Deleted, message, expression);

    public static FhirException Conflict(string message) => Of(ErrorKind.Conflict, OperationOutcome.IssueType.Conflict, message);

    public static FhirException PreconditionFailed(string message) => Of(ErrorKind.PreconditionFailed, OperationOutcome.IssueType.Conflict, message);

    public static FhirException Forbidden(string message) => Of(ErrorKind.Forbidden, OperationOutcome.IssueType.Forbidden, message);

    /// <summary>No access token (401 with a Bearer challenge).</summary>
    public static FhirException Unauthenticated() =>
        Of(ErrorKind.Unauthenticated, OperationOutcome.IssueType.Login, "An access token is required (Authorization: Bearer …).");

    public static FhirException NotSupported(ErrorKind kind, string message) => Of(kind, OperationOutcome.IssueType.NotSupported, message);

    public static FhirException Unavailable(string message, int retryAfter = 5) =>
        new(ErrorKind.Unavailable, Outcomes.Error(OperationOutcome.IssueType.Transient, message)) { RetryAfter = retryAfter };

    public static FhirException Busy(string message, int retryAfter = 1) =>
        new(ErrorKind.Conflict, Outcomes.Error(OperationOutcome.IssueType.Conflict, message)) { RetryAfter = retryAfter };
}
