using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using OpenIddict.Server;
using OpenIddict.Validation.AspNetCore;

namespace Interop.Server.Auth;

/// <summary>
/// The authorisation server (OpenIddict: authorization code with PKCE, refresh tokens, client credentials,
/// introspection, revocation, discovery, JWKS) and the resource server's token validation, which checks the
/// signed access token in memory: no database round trip per request.
/// </summary>
public static class AuthSetup
{
    public const string LoginScheme = "Interop.Login";
    public static readonly string BearerScheme = OpenIddictValidationAspNetCoreDefaults.AuthenticationScheme;

    public static WebApplicationBuilder AddInteropAuth(this WebApplicationBuilder builder, string connectionString)
    {
        var services = builder.Services;
        var section = builder.Configuration.GetSection("Auth");
        services.Configure<AuthOptions>(section);
        services.PostConfigure<AuthOptions>(o => o.AdminSecret ??= builder.Configuration["INTEROP_ADMIN_SECRET"]);
        var auth = section.Get<AuthOptions>() ?? new AuthOptions();

        services.AddAuthStore(connectionString);
        services.AddHostedService<AdminBootstrap>();
        services.AddHostedService<TokenPruning>();
        services.AddHostedService<SignInFailurePruning>();
        services.AddSingleton<KeyStore>();
        services.AddSingleton<IConfigureOptions<OpenIddictServerOptions>>(p => p.GetRequiredService<KeyStore>());
        services.AddSingleton<RevokedTokens>();
        services.AddSingleton<VerifiedTokens>();
        services.AddSingleton<SignInThrottle>();
        services.AddSingleton<RemoteJwks>();
        services.AddSingleton<Interop.Fhir.Subscriptions.ISubscriberCheck, ClientSubscriberCheck>();

        services.AddOpenIddict()
            .AddServer(o =>
            {
                o.SetAuthorizationEndpointUris("/auth/authorize")
                    .SetTokenEndpointUris("/auth/token")
                    .SetIntrospectionEndpointUris("/auth/introspect")
                    .SetRevocationEndpointUris("/auth/revoke")
                    .SetConfigurationEndpointUris("/.well-known/openid-configuration")
                    .SetJsonWebKeySetEndpointUris("/auth/jwks");
                o.AllowAuthorizationCodeFlow().RequireProofKeyForCodeExchange()
                    .AllowRefreshTokenFlow()
                    .AllowClientCredentialsFlow();
                o.SetAccessTokenLifetime(TimeSpan.FromMinutes(auth.AccessTokenMinutes))
                    .SetRefreshTokenLifetime(TimeSpan.FromDays(auth.RefreshTokenDays));
                // Resource servers (this one, and others of the group) read the access token as a signed JWT.
                o.DisableAccessTokenEncryption();
                // SMART scopes are open-ended (patient/Observation.rs?category=…): each client's allowed scopes
                // are checked by the endpoints here, not by OpenIddict's scope and permission tables.
                o.DisableScopeValidation();
                o.IgnoreScopePermissions().IgnoreEndpointPermissions().IgnoreGrantTypePermissions().IgnoreResponseTypePermissions();
                o.Configure(options => options.CodeChallengeMethods.Remove(OpenIddict.Abstractions.OpenIddictConstants.CodeChallengeMethods.Plain));
                o.AddEventHandler(ClientAssertions.Descriptor);
                o.AddEventHandler(ClientAssertionKeys.Descriptor);
                o.AddEventHandler(TokenEndpoint.ScopeAnswer);
                o.AddEventHandler(AuthAudit.TokenAnswers);
                o.UseAspNetCore()
                    .EnableAuthorizationEndpointPassthrough()
                    .EnableTokenEndpointPassthrough()
                    .DisableTransportSecurityRequirement(); // TLS ends at the proxy in front (see README)
            })
            .AddValidation(o =>
            {
                o.UseLocalServer();
                o.UseAspNetCore();
            });
        // The FHIR base URL is the access tokens' audience, and the issuer is the server's root.
        services.AddOptions<OpenIddictServerOptions>().Configure<IOptions<Rest.FhirOptions>>((o, fhir) => o.Issuer = Issuer(fhir.Value));
        services.AddOptions<OpenIddict.Validation.OpenIddictValidationOptions>().Configure<IOptions<Rest.FhirOptions>>((o, fhir) =>
        {
            o.Issuer = Issuer(fhir.Value);
            o.Audiences.Add(fhir.Value.BaseUrl!);
        });
        services.AddAuthentication() // no default: /fhir and /admin read the bearer token in BearerGate, /auth its pages the login cookie
            .AddCookie(LoginScheme, o =>
            {
                o.Cookie.Name = "interop.login";
                o.Cookie.HttpOnly = true;
                o.Cookie.SameSite = SameSiteMode.Lax;
                o.Cookie.Path = "/auth";
                o.ExpireTimeSpan = TimeSpan.FromMinutes(30);
                o.LoginPath = "/auth/authorize";
            });
        // The cookies' key ring in the database: shared by every instance, kept across restarts.
        services.AddDataProtection().SetApplicationName("Interop");
        services.AddSingleton<DataProtectionKeys>();
        services.AddOptions<Microsoft.AspNetCore.DataProtection.KeyManagement.KeyManagementOptions>()
            .Configure<DataProtectionKeys>((o, keys) => o.XmlRepository = keys);
        services.AddAntiforgery(o => o.Cookie.SameSite = SameSiteMode.Strict); // the login and consent forms, and the pages' forms
        return builder;
    }

    /// <summary>
    /// The auth schema, clients and users, without the web parts: for the server and for the command-line tools
    /// (`./interop.sh migrate` creates the schema; `clients` and `users` manage the registrations).
    /// </summary>
    public static IServiceCollection AddAuthStore(this IServiceCollection services, string connectionString)
    {
        services.AddDbContext<AuthDb>(o => o.UseNpgsql(connectionString).UseOpenIddict());
        services.AddHostedService<AuthSchema>();
        services.AddOpenIddict().AddCore(o =>
        {
            o.UseEntityFrameworkCore().UseDbContext<AuthDb>();
            o.ReplaceApplicationManager<OpenIddict.EntityFrameworkCore.Models.OpenIddictEntityFrameworkCoreApplication, ClientManager>(); // clients registered by jwksUri (no secret, no inline keys)
        });
        services.AddScoped<Clients>();
        services.AddScoped<Users>();
        return services;
    }

    public static Uri Issuer(Rest.FhirOptions fhir)
    {
        var baseUrl = fhir.BaseUrl!;
        return new Uri(baseUrl.EndsWith("/fhir", StringComparison.Ordinal) ? baseUrl[..^4] : baseUrl + "/");
    }

    public static WebApplication UseInteropAuth(this WebApplication app)
    {
        // OpenIddict's own endpoints (authorize, token, introspection, revocation, discovery, JWKS) are handled by the
        // authentication middleware; FHIR requests do not pass it (BearerGate reads their tokens).
        app.UseWhen(ctx => ctx.Request.Path.StartsWithSegments("/auth") || ctx.Request.Path.StartsWithSegments("/.well-known"),
            branch => branch.UseMiddleware<AuthInputGuard>().UseAuthentication());
        // Otherwise WebApplication adds UseAuthentication for every request by itself (it does so whenever the
        // authentication services exist and the app did not call it), and OpenIddict's request handler would run
        // on every FHIR request: measured at about 80 µs of CPU per read-by-id.
        ((IApplicationBuilder)app).Properties["__AuthenticationMiddlewareSet"] = true;
        app.UseMiddleware<BearerGate>();
        app.MapMethods("/auth/authorize", ["GET", "POST"], AuthorizeEndpoint.Handle).ExcludeFromDescription();
        app.MapPost("/auth/token", TokenEndpoint.Handle).ExcludeFromDescription();
        app.MapPost("/auth/launch", LaunchEndpoint.Create).WithTags("Authorisation");
        app.MapGet("/fhir/.well-known/smart-configuration", SmartConfiguration.Handle).WithTags("Authorisation");
        app.MapAdminApi();
        return app;
    }
}
