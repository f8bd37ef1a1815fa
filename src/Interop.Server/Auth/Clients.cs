using System.Text.Json;
using System.Text.RegularExpressions;
using Interop.Fhir.Errors;
using Interop.Fhir.Scopes;
using Interop.Fhir.Storage;
using Microsoft.IdentityModel.Tokens;
using OpenIddict.Abstractions;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace Interop.Server.Auth;

/// <summary>A client as the admin API and `./interop.sh clients add` take it (never returned with its secret).</summary>
public sealed record ClientRegistration(
    string? ClientId, string? Type, string? Secret, JsonElement? Jwks, string? JwksUri, List<string>? RedirectUris,
    string? Scopes, string? Institution, List<string>? Roles);

/// <summary>The server's own clients, registered at start by Web/PageClients: the staff pages' and the residents' app's.</summary>
public static class OwnClients
{
    public const string Pages = "interop-pages", App = "interop-app";
}

/// <summary>What the server knows of a client besides OpenIddict's columns.</summary>
public sealed record ClientProfile(string ClientId, string Type, IReadOnlyList<string> RedirectUris, IReadOnlyList<string> Scopes,
    string? Institution, IReadOnlyList<string> Roles, bool HasSecret, bool HasJwks, string? JwksUri = null);

/// <summary>
/// The registered clients (OpenIddict applications, with the institution, roles and allowed scopes as properties).
/// A registration that breaks a rule is refused with a 400 naming the field.
/// </summary>
public sealed partial class Clients(IOpenIddictApplicationManager apps, ResourceStore store)
{
    /// <summary>The application property holding a client's jwksUri (OpenIddict stores inline keys only).</summary>
    public const string JwksUriProperty = "jwksUri";

    public static readonly IReadOnlySet<string> KnownRoles = new HashSet<string> { "clinician", "auditor", "admin", "break-glass" };

    [GeneratedRegex("^[A-Za-z0-9._:-]{1,64}$")]
    private static partial Regex ClientIdPattern();

    public async Task<ClientProfile> Add(ClientRegistration r, CancellationToken ct, bool replace = false)
    {
        var descriptor = await Validate(r, ct);
        var existing = await apps.FindByClientIdAsync(descriptor.ClientId!, ct);
        if (existing is not null && !replace)
            throw FhirException.Conflict($"A client '{descriptor.ClientId}' is already registered; DELETE it first.");
        if (existing is not null) await apps.UpdateAsync(existing, descriptor, ct); // its tokens stay valid
        else await apps.CreateAsync(descriptor, ct);
        return (await Find(descriptor.ClientId!, ct))!;
    }

    /// <summary>
    /// Registers (or brings up to date) a client the server itself owns, at start. Several instances on one database
    /// may start at the same moment and write the same client; the one that loses the race reads it again and retries
    /// in a fresh scope (OpenIddict's entity is then stale), instead of failing to start.
    /// </summary>
    public static async Task Ensure(IServiceProvider services, ClientRegistration r, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                using var scope = services.CreateScope();
                await scope.ServiceProvider.GetRequiredService<Clients>().Add(r, ct, replace: true);
                return;
            }
            // The loser sees a stale entity (ConcurrencyException), the other's new row (ValidationException: the id is
            // taken) or the unique index (DbUpdateException), depending on the moment.
            catch (Exception e) when (attempt < 5 && e is OpenIddict.Abstractions.OpenIddictExceptions.ConcurrencyException
                                          or OpenIddict.Abstractions.OpenIddictExceptions.ValidationException
                                          or Microsoft.EntityFrameworkCore.DbUpdateException)
            {
                await Task.Delay(Random.Shared.Next(20, 200) * attempt, ct);
            }
        }
    }

    public async Task<ClientProfile?> Find(string clientId, CancellationToken ct)
    {
        var app = await apps.FindByClientIdAsync(clientId, ct);
        return app is null ? null : await Profile(app, ct);
    }

    public async Task<List<ClientProfile>> List(CancellationToken ct)
    {
        var list = new List<ClientProfile>();
        await foreach (var app in apps.ListAsync(null, null, ct)) list.Add(await Profile(app, ct));
        return list.OrderBy(c => c.ClientId, StringComparer.Ordinal).ToList();
    }

    public async Task<bool> Remove(string clientId, CancellationToken ct)
    {
        var app = await apps.FindByClientIdAsync(clientId, ct);
        if (app is null) return false;
        await apps.DeleteAsync(app, ct);
        return true;
    }

    private async Task<ClientProfile> Profile(object app, CancellationToken ct)
    {
        var properties = await apps.GetPropertiesAsync(app, ct);
        string? Text(string name) => properties.TryGetValue(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        List<string> Strings(string name) => properties.TryGetValue(name, out var v) && v.ValueKind == JsonValueKind.Array
            ? [.. v.EnumerateArray().Select(e => e.GetString()!)] : [];
        var redirects = await apps.GetRedirectUrisAsync(app, ct);
        var jwks = await apps.GetJsonWebKeySetAsync(app, ct) is not null;
        var jwksUri = Text(JwksUriProperty);
        return new ClientProfile(
            (await apps.GetClientIdAsync(app, ct))!, (await apps.GetClientTypeAsync(app, ct))!, [.. redirects],
            (Text("scopes") ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries), Text("institution"), Strings("roles"),
            await apps.HasClientTypeAsync(app, ClientTypes.Confidential, ct) && !jwks && jwksUri is null, jwks, jwksUri);
    }

    private async Task<OpenIddictApplicationDescriptor> Validate(ClientRegistration r, CancellationToken ct)
    {
        if (r.ClientId is not { } id || !ClientIdPattern().IsMatch(id))
            throw Bad("clientId is required: 1-64 characters of A-Z a-z 0-9 . _ : -", "clientId");
        if (r.Type is not ("public" or "confidential")) throw Bad("type must be \"public\" or \"confidential\".", "type");
        var descriptor = new OpenIddictApplicationDescriptor { ClientId = id, DisplayName = id, ClientType = r.Type == "public" ? ClientTypes.Public : ClientTypes.Confidential };
        if (r.Type == "public")
        {
            if (!string.IsNullOrEmpty(r.Secret)) throw Bad("A public client has no secret: it cannot keep one (use PKCE; register it as confidential if it can).", "secret");
            if (r.Jwks is not null || r.JwksUri is not null)
                throw Bad("A public client has no keys: register it as confidential to authenticate with private_key_jwt.", r.Jwks is null ? "jwksUri" : "jwks");
        }
        else
        {
            if (r.Jwks is not null && r.JwksUri is not null)
                throw Bad("jwks and jwksUri are mutually exclusive: register the public keys inline or the URL where they are published, not both.", "jwksUri");
            if (string.IsNullOrEmpty(r.Secret) == (r.Jwks is null && r.JwksUri is null))
                throw Bad("A confidential client authenticates with either a secret or its public keys (jwks, or jwksUri where it publishes them): give exactly one.", "secret");
            if (r.Secret is { } secret)
            {
                if (secret.Length < 16) throw Bad("A client secret must be at least 16 characters.", "secret");
                descriptor.ClientSecret = secret;
            }
            if (r.Jwks is { } jwks) descriptor.JsonWebKeySet = ParseJwks(jwks);
            if (r.JwksUri is { } text)
                descriptor.Properties[JwksUriProperty] = JsonSerializer.SerializeToElement(
                    (ClientKeys.JwksUri(text, out var problem) ?? throw Bad(problem!, "jwksUri")).AbsoluteUri);
        }
        foreach (var uri in r.RedirectUris ?? [])
        {
            if (!Uri.TryCreate(uri, UriKind.Absolute, out var parsed) || parsed.Fragment.Length > 0)
                throw Bad($"redirect URI '{uri}' must be an absolute URI without a fragment.", "redirectUris");
            descriptor.RedirectUris.Add(parsed);
        }
        var scopes = (r.Scopes ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (scopes.Length == 0) throw Bad("scopes is required: the space-separated scopes this client may be given (e.g. \"launch/patient patient/*.rs openid fhirUser\").", "scopes");
        foreach (var scope in scopes)
            if (SmartScope.Parse(scope) is null && !Tokens.Other.Contains(scope))
                throw Bad($"'{scope}' is not a scope this server grants: SMART clinical scopes (patient|user|system/Type.cruds) and {string.Join(", ", Tokens.Other)}.", "scopes");
        descriptor.Properties["scopes"] = JsonSerializer.SerializeToElement(string.Join(' ', scopes));
        if (r.Institution is { } institution)
        {
            await RequireResource(institution, "Organization", "institution", ct);
            descriptor.Properties["institution"] = JsonSerializer.SerializeToElement(institution);
        }
        var roles = r.Roles ?? [];
        if (roles.FirstOrDefault(role => !KnownRoles.Contains(role)) is { } unknown)
            throw Bad($"Unknown role '{unknown}': the roles are {string.Join(", ", KnownRoles)}.", "roles");
        descriptor.Properties["roles"] = JsonSerializer.SerializeToElement(roles.Distinct().ToList());
        return descriptor;
    }

    private static JsonWebKeySet ParseJwks(JsonElement jwks)
    {
        JsonWebKeySet set;
        try
        {
            set = new JsonWebKeySet(jwks.GetRawText());
        }
        catch (ArgumentException e)
        {
            throw Bad($"jwks is not a JSON Web Key Set: {e.Message}", "jwks");
        }
        return ClientKeys.Problem(set) is { } problem ? throw Bad($"jwks: {problem}", "jwks") : set;
    }

    /// <summary>A reference such as "Organization/123" to a resource that exists (and is not deleted).</summary>
    internal async Task RequireResource(string reference, string type, string field, CancellationToken ct)
    {
        var parts = reference.Split('/');
        if (parts.Length != 2 || parts[0] != type)
            throw Bad($"{field} must be a reference such as \"{type}/123\", not '{reference}'.", field);
        if (await store.ReadCurrent(parts[0], parts[1], ct) is not { Deleted: false })
            throw Bad($"{field} '{reference}' does not exist on this server: create the {type} first.", field);
    }

    internal static FhirException Bad(string message, string field) => FhirException.BadRequest(message, field);
}
