using Interop.Server.Auth;
using Interop.Server.Rest;
using Microsoft.Extensions.Options;

namespace Interop.Server.Web;

/// <summary>
/// The two OAuth clients of the server's own pages, registered (or brought up to date) at start:
/// <c>interop-pages</c>, the confidential client behind the staff pages' cookie session (its secret derived from the
/// signing key, so every instance on one database agrees on it, and never shown), and <c>interop-app</c>, the residents'
/// app at /app — a public SMART client with PKCE, standalone launch, patient scopes only (patient/AuditEvent.rs: the
/// resident's own access report), for residents only (staff signing in to it are refused, <see cref="Auth.AuthorizeEndpoint"/>).
/// Both redirect only to this server's own address (the issuer, from Fhir:BaseUrl).
/// </summary>
public sealed class PageClients(IServiceProvider services, IOptions<FhirOptions> fhir, KeyStore keys, ILogger<PageClients> log) : IHostedService
{
    public const string Pages = OwnClients.Pages, App = OwnClients.App;
    /// <summary>user/AuditEvent.rs is named: wildcards never include the access log, and the API lets only auditors use it.</summary>
    public const string PagesScopes = "openid fhirUser user/*.cruds user/AuditEvent.rs";
    public const string AppScopes = "openid fhirUser launch/patient patient/*.rs patient/AuditEvent.rs online_access";

    public string PagesSecret => keys.Secret("client:" + Pages);

    public async Task StartAsync(CancellationToken ct)
    {
        var root = AuthSetup.Issuer(fhir.Value).ToString();
        await Clients.Ensure(services, new ClientRegistration(Pages, "confidential", PagesSecret, null, null, [root + "signin-oidc"],
            PagesScopes, null, []), ct);
        await Clients.Ensure(services, new ClientRegistration(App, "public", null, null, null, [root + "app/"], AppScopes, null, []), ct);
        log.LogInformation("Clients '{Pages}' and '{App}' ready for the pages at {Root}", Pages, App, root);
    }

    public Task StopAsync(CancellationToken ct) => Task.CompletedTask;
}
