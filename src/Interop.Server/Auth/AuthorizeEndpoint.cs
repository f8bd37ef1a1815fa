using System.Security.Claims;
using Hl7.Fhir.Model;
using Interop.Fhir.Formats;
using Interop.Fhir.Pipeline;
using Interop.Fhir.Scopes;
using Interop.Fhir.Search;
using Interop.Server.Rest;
using Microsoft.AspNetCore;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using OpenIddict.Abstractions;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace Interop.Server.Auth;

/// <summary>
/// GET or POST /auth/authorize, after OpenIddict has checked the client, its redirect URI and PKCE (S256): the
/// login form, then the consent page (with a patient picker for staff launching with launch/patient), then back
/// to the client's redirect URI with a code. Each page posts the authorisation request's own parameters back
/// to this endpoint, so no state is kept between the steps but the login cookie.
/// </summary>
public static class AuthorizeEndpoint
{
    private static readonly IReadOnlySet<ScopeContext> ResidentContexts = new HashSet<ScopeContext> { ScopeContext.Patient };
    private static readonly IReadOnlySet<ScopeContext> StaffContexts = new HashSet<ScopeContext> { ScopeContext.Patient, ScopeContext.User };

    public static async Task<IResult> Handle(HttpContext http, Users users, Clients clients, IAntiforgery antiforgery,
        IOptions<FhirOptions> fhir, FhirPipeline pipeline, Npgsql.NpgsqlDataSource db, SignInThrottle throttle, IOptions<AuthOptions> auth, CancellationToken ct)
    {
        var request = http.GetOpenIddictServerRequest() ?? throw new InvalidOperationException("Not an OpenID Connect request.");
        http.Response.Headers["X-Frame-Options"] = "DENY"; // no consent click-jacking
        http.Response.Headers.ContentSecurityPolicy = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'";
        var baseUrl = fhir.Value.BaseUrl!;
        if (request["aud"] is { } aud && !string.Equals(((string?)aud)?.TrimEnd('/'), baseUrl, StringComparison.OrdinalIgnoreCase))
            return TokenEndpoint.Refuse(Errors.InvalidRequest, $"aud must be this FHIR server's base URL, {baseUrl}.");
        var client = await clients.Find(request.ClientId!, ct);
        if (client is null) return TokenEndpoint.Refuse(Errors.InvalidClient, "The client is not registered.");
        // The login cookie is read first: the antiforgery token of each page is bound to the signed-in user.
        var login = await http.AuthenticateAsync(AuthSetup.LoginScheme);
        if (login.Principal is { } cookie) http.User = cookie;
        var form = http.Request.HasFormContentType ? await http.Request.ReadFormAsync(ct) : null;
        if (form is not null && !await antiforgery.IsRequestValidAsync(http))
            return LoginPages.Login(http, antiforgery, request, "The form expired; sign in again.");

        // 1. Who is signed in.
        AuthUser? user = null;
        if (form?["username"] is { Count: > 0 } username)
        {
            var name = username.ToString();
            // The password is checked first, then the throttle's count is kept in one statement: a locked name is
            // refused whether the password was right or not, so the answer tells a guesser nothing.
            user = await users.SignIn(name, form["password"].ToString(), ct);
            var locked = user is null ? await throttle.Failed(name, ct) : await throttle.Succeeded(name, ct);
            if (locked is { } wait)
            {
                await AuthAudit.SignIn(http, request.ClientId, name, "locked: too many failed sign-ins");
                return LoginPages.Login(http, antiforgery, request,
                    $"Too many failed sign-ins for this user: try again in {Math.Max(1, Math.Ceiling(wait.TotalMinutes))} minutes.", StatusCodes.Status429TooManyRequests);
            }
            if (user is null)
            {
                await AuthAudit.SignIn(http, request.ClientId, name, "wrong username or password");
                return LoginPages.Login(http, antiforgery, request, "The username or password is not right.");
            }
            await AuthAudit.SignIn(http, request.ClientId, name, null);
            var identity = new ClaimsIdentity(AuthSetup.LoginScheme, Claims.Name, Claims.Role);
            identity.AddClaim(new System.Security.Claims.Claim(Claims.Name, user.Username));
            http.User = new ClaimsPrincipal(identity);
            await http.SignInAsync(AuthSetup.LoginScheme, http.User);
        }
        else if (login.Principal?.Identity?.Name is { } signedIn)
            user = await users.Find(signedIn, ct);
        if (user is null) return LoginPages.Login(http, antiforgery, request, null);

        // 2. What may be granted: a resident gets patient/ scopes on their own record; staff also user/ scopes.
        var resident = user.FhirUser.StartsWith("Patient/", StringComparison.Ordinal);
        // The residents' app opens the signed-in resident's own record; staff have their own pages (no picking a patient there).
        if (client.ClientId == OwnClients.App && !resident)
            return TokenEndpoint.Refuse(Errors.AccessDenied, "The residents' app is for residents: this account is not a resident's. Staff use the pages at /.");
        var granted = Tokens.Grant(request.GetScopes(), client.Scopes, resident ? ResidentContexts : StaffContexts);
        // An EHR launch brings its context (patient, encounter) from POST /auth/launch: no picking.
        LaunchEndpoint.LaunchContext? launch = null;
        if ((string?)request["launch"] is { Length: > 0 } launchId && granted.Contains("launch") && !resident)
        {
            launch = await LaunchEndpoint.Find(db, launchId, redeem: form?["decision"].ToString() == "approve", ct);
            if (launch is null) return TokenEndpoint.Refuse(Errors.InvalidRequest, "The launch is unknown, expired or already used: launch the app from the EHR again.");
        }
        var wantsPatient = granted.Contains("launch/patient") && launch is null;
        string? patient = resident ? user.FhirUser["Patient/".Length..]
            : launch is not null ? launch.Patient
            : form?["patient"].ToString() is { Length: > 0 } picked ? picked : null;
        if (!resident && !wantsPatient && launch is null)
            granted.RemoveAll(s => SmartScope.Parse(s)?.Context == ScopeContext.Patient); // patient/ scopes need a patient in context

        var decision = form?["decision"].ToString();
        // The server's own staff pages ask for nothing the user's sign-in does not already mean: no consent page.
        if (client.ClientId == OwnClients.Pages && string.IsNullOrEmpty(decision)) decision = "approve";
        if (decision == "deny")
            return TokenEndpoint.Refuse(Errors.AccessDenied, "The user did not approve the request.");
        if (decision == "approve")
        {
            if (wantsPatient && !resident && (patient is null || !await Visible(pipeline, user, client, baseUrl, patient, ct)))
                return LoginPages.Consent(http, antiforgery, request, user, client, granted, pickPatient: true,
                    await PickList(pipeline, user, client, baseUrl, form?["q"].ToString(), ct), "Pick the patient this app is for.");
            var principal = Tokens.Principal(user.Username, client.ClientId, granted, baseUrl,
                wantsPatient || resident || launch is not null ? patient : null, user.FhirUser, user.Institutions.FirstOrDefault(), user.Roles,
                launch?.Encounter);
            Tokens.Online(principal, TimeSpan.FromMinutes(auth.Value.OnlineAccessMinutes));
            return Results.SignIn(principal, null, OpenIddict.Server.AspNetCore.OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);
        }
        var matches = !resident && wantsPatient ? await PickList(pipeline, user, client, baseUrl, form?["q"].ToString(), ct) : [];
        return LoginPages.Consent(http, antiforgery, request, user, client, granted, !resident && wantsPatient, matches, null);
    }

    // The picker reads as the signed-in practitioner (through the pipeline, so the access policy applies).
    private static RequestContext PickerContext(AuthUser user, ClientProfile client, string baseUrl) =>
        new(new Caller(client.ClientId, user.Username, user.Institutions.FirstOrDefault(), new HashSet<string> { "user/Patient.rs" }, true)
        {
            FhirUser = user.FhirUser,
            Roles = user.Roles.ToHashSet(),
        }, baseUrl, Guid.NewGuid().ToString("N"));

    private static async Task<List<(string Id, string Label)>> PickList(FhirPipeline pipeline, AuthUser user, ClientProfile client, string baseUrl, string? q, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(q)) return [];
        var result = new List<(string, string)>();
        foreach (var parameter in new[] { "name", "identifier" })
        {
            var query = SearchQueryParser.Parse(["Patient"], [new(parameter, q.Trim()), new("_count", "20")], false, 20, 20);
            var found = await pipeline.Send<SearchOutcome>(PickerContext(user, client, baseUrl), new SearchRequest(query), ct);
            foreach (var hit in found.Result.Hits.Where(h => !h.Included && h.Version.Json is not null))
                result.Add((hit.Version.Id, Label((Patient)FhirSerialization.ParseStored(hit.Version.Json!))));
            if (result.Count > 0) break;
        }
        return result;
    }

    private static async Task<bool> Visible(FhirPipeline pipeline, AuthUser user, ClientProfile client, string baseUrl, string id, CancellationToken ct)
    {
        try
        {
            await pipeline.Send<VersionResult>(PickerContext(user, client, baseUrl), new ReadRequest("Patient", id), ct);
            return true;
        }
        catch (Interop.Fhir.Errors.FhirException)
        {
            return false;
        }
    }

    private static string Label(Patient p)
    {
        var name = p.Name.FirstOrDefault();
        var text = name is null ? "(no name)" : string.Join(' ', name.Given.Append(name.Family).Where(s => !string.IsNullOrEmpty(s)));
        var identifier = p.Identifier.FirstOrDefault()?.Value;
        return $"{text}, born {p.BirthDate ?? "?"}" + (identifier is null ? "" : $", {identifier}");
    }
}
