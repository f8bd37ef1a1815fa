using Interop.Fhir.Storage;

namespace Interop.Fhir.Pipeline;

/// <summary>
/// Who calls: the client system, the user, the institution and the granted scopes. Authentication fills it
/// (SMART on FHIR); until then every call is anonymous and <see cref="Client"/> is only what the caller claims.
/// </summary>
public sealed record Caller(string Client, string? User, string? Institution, IReadOnlySet<string> Scopes, bool Authenticated)
{
    private static readonly IReadOnlySet<string> NoScopes = new HashSet<string>();

    /// <summary>An unauthenticated caller; <paramref name="claimedClient"/> is recorded as the writer, not trusted.</summary>
    public static Caller Anonymous(string claimedClient = "anonymous") => new(claimedClient, null, null, NoScopes, false);

    /// <summary>The server itself (import, reindex): not a client of the REST API.</summary>
    public static Caller System(string name) => new(name, null, null, NoScopes, true);
}

/// <summary>Everything the pipeline knows about one call besides the request itself.</summary>
/// <param name="BaseUrl">The public base URL (from configuration), for references and links.</param>
/// <param name="CorrelationId">The id logs, audit entries and error answers share.</param>
/// <param name="PurposeOfUse">Why the data is used (treatment, payment, operations...), when the caller says.</param>
public sealed record RequestContext(Caller Caller, string BaseUrl, string CorrelationId, string? PurposeOfUse = null)
{
    /// <summary>What is recorded on every version this call writes.</summary>
    public WriteContext Writer { get; } = new(Caller.Client);

    public static RequestContext ForSystem(string name, string baseUrl = "") =>
        new(Caller.System(name), baseUrl, Guid.NewGuid().ToString("N"));
}
