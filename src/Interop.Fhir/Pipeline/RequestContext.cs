using Interop.Fhir.Scopes;
using Interop.Fhir.Storage;

namespace Interop.Fhir.Pipeline;

/// <summary>
/// Who calls: the client system, the user, the institution and the granted scopes, from the access token
/// (SMART on FHIR). <see cref="Unrestricted"/> callers (the server's own tools) are not subject to scopes.
/// </summary>
/// <param name="Client">The OAuth client id (recorded on every version the call writes).</param>
/// <param name="User">The signed-in user's name, for a user token.</param>
/// <param name="Institution">The organisation the client or user acts for ("Organization/…").</param>
public sealed record Caller(string Client, string? User, string? Institution, IReadOnlySet<string> Scopes, bool Authenticated)
{
    private static readonly IReadOnlySet<string> Nothing = new HashSet<string>();
    private Grants? _grants;

    /// <summary>The launch context's patient id (patient scopes confine the call to its compartment).</summary>
    public string? Patient { get; init; }
    /// <summary>The user's own FHIR resource ("Practitioner/…", "Patient/…").</summary>
    public string? FhirUser { get; init; }
    /// <summary>clinician, auditor, admin, break-glass.</summary>
    public IReadOnlySet<string> Roles { get; init; } = Nothing;
    /// <summary>The server's own tools (import, reindex): scopes and policy do not apply.</summary>
    public bool Unrestricted { get; init; }

    /// <summary>The clinical scopes, parsed once per caller.</summary>
    public Grants Grants => _grants ??= Grants.Of(Scopes);

    /// <summary>A caller that has shown no token.</summary>
    public static Caller Anonymous(string claimedClient = "anonymous") => new(claimedClient, null, null, Nothing, false);

    /// <summary>The server itself (import, reindex): not a client of the REST API.</summary>
    public static Caller System(string name) => new(name, null, null, Nothing, true) { Unrestricted = true };
}

/// <summary>Everything the pipeline knows about one call besides the request itself.</summary>
/// <param name="BaseUrl">The public base URL (from configuration), for references and links.</param>
/// <param name="CorrelationId">The id logs, audit entries and error answers share.</param>
/// <param name="PurposeOfUse">Why the data is used (treatment, payment, operations...), when the caller says.</param>
public sealed record RequestContext(Caller Caller, string BaseUrl, string CorrelationId, string? PurposeOfUse = null)
{
    /// <summary>What is recorded on every version this call writes; with a change log (<see cref="WriteContext.Audit"/>) the call is audited.</summary>
    public WriteContext Writer { get; init; } = new(Caller.Client, Caller.Institution) { Trusted = Caller.Unrestricted };

    /// <summary>The client's network address, for the access log.</summary>
    public string? NetworkAddress { get; init; }

    /// <summary>
    /// The reason given with X-Break-Glass by a caller with the break-glass role: access past the care-relationship
    /// policy and consent (never past scopes). Every such access is marked for review (the audit log reads it).
    /// </summary>
    public string? BreakGlass { get; init; }

    /// <summary>A trusted bulk load that opted out of validation (`import --no-validate`, where configuration allows it).</summary>
    public bool SkipValidation { get; init; }

    /// <summary>Warnings and information for the caller (validation's, on a write that passed): returned with Prefer: return=OperationOutcome.</summary>
    public System.Collections.Concurrent.ConcurrentQueue<Hl7.Fhir.Model.OperationOutcome.IssueComponent> Notes { get; } = new();

    public static RequestContext ForSystem(string name, string baseUrl = "") =>
        new(Caller.System(name), baseUrl, Guid.NewGuid().ToString("N"));
}
