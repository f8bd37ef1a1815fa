using Interop.Fhir.Audit;
using Interop.Server.Rest;
using Microsoft.AspNetCore;
using OpenIddict.Abstractions;
using OpenIddict.Server;
using OpenIddict.Server.AspNetCore;

namespace Interop.Server.Auth;

/// <summary>
/// The access log's records of the authorisation server: sign-ins (success and failure, never the password), every
/// token answer (issued or refused, with the reason), and changes of clients and users.
/// </summary>
public static class AuthAudit
{
    public static Task SignIn(HttpContext http, string? client, string username, string? failure) =>
        Log(http).Record(Who(http, client ?? "unknown", username),
            new AuditWhat(AuditEvents.Login, "login", "E", failure is null ? 0 : 4, failure, [], []));

    /// <summary>A change of a client or user registration by an administrator ("client-registered", "user-removed"...).</summary>
    public static Task Changed(HttpContext http, string subtype, string action, string target) =>
        Log(http).Record(AuditWho.Of(FhirHttp.Context(http)), new AuditWhat(AuditEvents.SecurityAlert, subtype, action, 0, null, [], [target]));

    /// <summary>A refused call of the admin API (no token, or no admin role).</summary>
    public static Task Refused(HttpContext http, Interop.Fhir.Errors.FhirException refused) =>
        Log(http).Record(AuditWho.Of(FhirHttp.Context(http)), new AuditWhat(AuditEvents.SecurityAlert, "administration", "E", 4, refused.Message, [], [http.Request.Path.Value ?? ""]));

    /// <summary>Records every answer of /auth/token, issued or refused (a wrong secret, a replayed assertion, a bad grant).</summary>
    public static OpenIddictServerHandlerDescriptor TokenAnswers { get; } =
        OpenIddictServerHandlerDescriptor.CreateBuilder<OpenIddictServerEvents.ApplyTokenResponseContext>()
            .UseInlineHandler(async context =>
            {
                if (context.Transaction.GetHttpRequest()?.HttpContext is not { } http) return;
                var response = context.Response;
                var patient = (string?)response["patient"];
                var refused = response.Error is { } error ? $"{error}: {response.ErrorDescription}" : null;
                await Log(http).Record(Who(http, context.Request?.ClientId ?? "unknown", null),
                    new AuditWhat(AuditEvents.Login, "token", "E", refused is null ? 0 : 4, refused,
                        patient is null ? [] : [$"Patient/{patient}"], []));
            })
            .SetOrder(int.MinValue + 100_000)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

    private static AuditLog Log(HttpContext http) => http.RequestServices.GetRequiredService<AuditLog>();

    private static AuditWho Who(HttpContext http, string client, string? user) =>
        new(client, user, null, null, http.Connection.RemoteIpAddress?.ToString(), null, null, http.TraceIdentifier);
}
