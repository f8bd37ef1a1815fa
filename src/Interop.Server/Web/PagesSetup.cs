using Interop.Server.Auth;
using Interop.Server.Rest;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;

namespace Interop.Server.Web;

/// <summary>
/// The pages for people (Razor Pages, server-side rendered, a little JavaScript): staff sign in with OpenID Connect
/// at this server's own authorisation server (client interop-pages, code flow with PKCE) into a cookie session that
/// holds their access token; each page calls the FHIR API with that token (<see cref="PageApi"/>). The residents'
/// app at /app is static HTML and JavaScript, a public SMART client of its own.
/// </summary>
public static class PagesSetup
{
    public const string CookieScheme = "Interop.Pages", OidcScheme = "Interop.Pages.Oidc";

    /// <summary>The paths the staff pages' session cookie is for, and the CSP and frame rules cover.</summary>
    public static readonly string[] PagePaths = ["/referrals", "/timeline", "/indicators", "/audit", "/signin", "/signin-oidc", "/signout", "/language"];

    public static WebApplicationBuilder AddInteropPages(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddRazorPages();
        services.AddSingleton<LocalListener>();
        services.AddSingleton<PageClients>();
        services.AddHostedService(p => p.GetRequiredService<PageClients>());
        var minutes = builder.Configuration.GetValue("Auth:AccessTokenMinutes", 60);
        services.AddAuthentication()
            .AddCookie(CookieScheme, o =>
            {
                o.Cookie.Name = "interop.pages";
                o.Cookie.HttpOnly = true;
                o.Cookie.SameSite = SameSiteMode.Lax;
                o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                // The session lasts as long as the access token in it; then the user signs in again (silently while
                // the authorisation server's own login is still valid).
                o.ExpireTimeSpan = TimeSpan.FromMinutes(minutes);
                o.SlidingExpiration = false;
                o.ForwardChallenge = OidcScheme;
                o.Events.OnValidatePrincipal = async c =>
                {
                    if (c.Properties.GetTokenValue("expires_at") is { } at && DateTimeOffset.TryParse(at, out var expires) && expires <= DateTimeOffset.UtcNow)
                    {
                        c.RejectPrincipal();
                        await c.HttpContext.SignOutAsync(CookieScheme);
                    }
                };
            })
            .AddOpenIdConnect(OidcScheme, o =>
            {
                o.SignInScheme = CookieScheme;
                o.ClientId = PageClients.Pages;
                o.ResponseType = OpenIdConnectResponseType.Code;
                o.ResponseMode = OpenIdConnectResponseMode.Query; // a top-level GET back: the Lax cookies travel with it
                o.UsePkce = true;
                o.SaveTokens = true;
                o.MapInboundClaims = false;
                o.GetClaimsFromUserInfoEndpoint = false;
                o.RequireHttpsMetadata = false; // TLS ends at the proxy in front (see README), as for the API
                o.CallbackPath = "/signin-oidc";
                o.Scope.Clear();
                foreach (var scope in PageClients.PagesScopes.Split(' ')) o.Scope.Add(scope);
                o.TokenValidationParameters.NameClaimType = "name";
                o.CorrelationCookie.SameSite = o.NonceCookie.SameSite = SameSiteMode.Lax;
                o.CorrelationCookie.SecurePolicy = o.NonceCookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            });
        // The authority is this server's issuer; its discovery, keys and token endpoint are reached on the local listener.
        services.AddOptions<OpenIdConnectOptions>(OidcScheme).Configure<IOptions<FhirOptions>, PageClients, LocalListener>((o, fhir, clients, local) =>
        {
            var issuer = AuthSetup.Issuer(fhir.Value);
            o.Authority = issuer.ToString();
            o.MetadataAddress = new Uri(issuer, ".well-known/openid-configuration").ToString();
            o.ClientSecret = clients.PagesSecret;
            o.BackchannelHttpHandler = local.Rewriting(issuer);
        });
        return builder;
    }

    public static WebApplication UseInteropPages(this WebApplication app)
    {
        // The residents' app is static files: its headers are set before the static files answer, and /app/ is its index.html.
        // No referrer at all there: the authorisation code is in its address until the app strips it.
        app.UseWhen(ctx => ctx.Request.Path.StartsWithSegments(AppPath), branch => branch.Use(SecurityHeaders("no-referrer")).UseDefaultFiles());
        app.UseStaticFiles(); // wwwroot: the pages' CSS and scripts, the vendored Chart.js, the residents' app at /app
        app.UseWhen(IsPage, branch => branch.Use(SecurityHeaders("same-origin")).UseAuthentication());
        app.MapRazorPages();
        app.MapGet("/signout", async ctx =>
        {
            await ctx.SignOutAsync(CookieScheme);
            await ctx.SignOutAsync(AuthSetup.LoginScheme); // and the authorisation server's own login
            // The residents' app signs out here too (its token is in its own session storage), and comes back to its start.
            ctx.Response.Redirect(ctx.Request.Query["back"] == AppPath + "/" ? AppPath + "/" : "/");
        }).ExcludeFromDescription();
        app.MapGet("/language", (HttpContext ctx, string? to, string? back) =>
        {
            var language = to is "zh-CN" ? "zh-CN" : "en";
            ctx.Response.Cookies.Append(Text.Cookie, language, new CookieOptions { Path = "/", SameSite = SameSiteMode.Lax, MaxAge = TimeSpan.FromDays(365), HttpOnly = false });
            // Only back to a page of this server: never an open redirect.
            var local = back is { Length: > 0 } && back.StartsWith('/') && !back.StartsWith("//") && !back.StartsWith("/\\") ? back : "/";
            return Results.LocalRedirect(local);
        }).ExcludeFromDescription();
        return app;
    }

    public const string AppPath = "/app";

    private static Func<HttpContext, Func<Task>, Task> SecurityHeaders(string referrer) => (ctx, next) =>
    {
        var headers = ctx.Response.Headers;
        headers["X-Frame-Options"] = "DENY";
        headers["X-Content-Type-Options"] = "nosniff";
        headers["Referrer-Policy"] = referrer;
        headers.ContentSecurityPolicy = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; " +
                                        "connect-src 'self'; frame-ancestors 'none'; form-action 'self'";
        return next();
    };

    private static bool IsPage(HttpContext ctx)
    {
        var path = ctx.Request.Path;
        return path == "/" || PagePaths.Any(p => path.StartsWithSegments(p));
    }
}
