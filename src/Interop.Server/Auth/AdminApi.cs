using System.Text.Json;
using Interop.Fhir.Errors;
using Interop.Fhir.Pipeline;
using Interop.Server.Rest;

namespace Interop.Server.Auth;

/// <summary>
/// POST/GET/DELETE /admin/clients and /admin/users: JSON, for a token with the admin role only. Errors are
/// OperationOutcomes naming the field, as everywhere else on this server.
/// </summary>
public static class AdminApi
{
    public static void MapAdminApi(this WebApplication app)
    {
        var admin = app.MapGroup("/admin").WithTags("Administration").AddEndpointFilter(async (context, next) =>
        {
            try
            {
                RequireAdmin(context.HttpContext);
            }
            catch (FhirException refused)
            {
                await AuthAudit.Refused(context.HttpContext, refused); // a refused administration attempt is a security event
                throw;
            }
            return await next(context);
        });
        admin.MapPost("/clients", async (HttpContext http, Clients clients, CancellationToken ct) =>
        {
            var added = await clients.Add(await Body<ClientRegistration>(http, ct), ct);
            await AuthAudit.Changed(http, "client-registered", "C", $"Client/{added.ClientId}");
            return Results.Json(added, statusCode: 201);
        });
        admin.MapGet("/clients", async (Clients clients, CancellationToken ct) => Results.Json(await clients.List(ct)));
        admin.MapGet("/clients/{clientId}", async (string clientId, Clients clients, CancellationToken ct) =>
            await clients.Find(clientId, ct) is { } c ? Results.Json(c) : throw FhirException.NotFound($"No client '{clientId}'."));
        admin.MapDelete("/clients/{clientId}", async (string clientId, HttpContext http, Clients clients, CancellationToken ct) =>
        {
            if (!await clients.Remove(clientId, ct)) throw FhirException.NotFound($"No client '{clientId}'.");
            await AuthAudit.Changed(http, "client-removed", "D", $"Client/{clientId}");
            return Results.NoContent();
        });
        admin.MapPost("/users", async (HttpContext http, Users users, CancellationToken ct) =>
        {
            var added = await users.Add(await Body<UserRegistration>(http, ct), ct);
            await AuthAudit.Changed(http, "user-registered", "C", $"User/{added.Username}");
            return Results.Json(added, statusCode: 201);
        });
        admin.MapGet("/users", async (Users users, CancellationToken ct) => Results.Json(await users.List(ct)));
        admin.MapDelete("/users/{username}", async (string username, HttpContext http, Users users, CancellationToken ct) =>
        {
            if (!await users.Remove(username, ct)) throw FhirException.NotFound($"No user '{username}'.");
            await AuthAudit.Changed(http, "user-removed", "D", $"User/{username}");
            return Results.NoContent();
        });
    }

    private static void RequireAdmin(HttpContext http)
    {
        var caller = FhirHttp.Context(http).Caller;
        if (caller.Unrestricted) return;
        if (!caller.Authenticated)
            throw FhirException.Unauthenticated();
        if (!caller.Roles.Contains("admin"))
            throw FhirException.Forbidden("Managing clients and users needs a token with the admin role.");
    }

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>A JSON request body as <typeparamref name="T"/>; a 400 naming where the JSON is wrong otherwise.</summary>
    public static async Task<T> Body<T>(HttpContext http, CancellationToken ct)
    {
        try
        {
            return await JsonSerializer.DeserializeAsync<T>(http.Request.Body, Json, ct)
                   ?? throw FhirException.BadRequest("The request body is empty: a JSON object is required.");
        }
        catch (JsonException e)
        {
            throw FhirException.BadRequest($"The request body is not the expected JSON: {e.Message}", e.Path);
        }
    }

    /// <summary>The same for JSON given as text (the command-line tools).</summary>
    public static T Parse<T>(string json)
    {
        try
        {
            return JsonSerializer.Deserialize<T>(json, Json) ?? throw FhirException.BadRequest("The JSON is empty: an object is required.");
        }
        catch (JsonException e)
        {
            throw FhirException.BadRequest($"The JSON is not the expected shape: {e.Message}", e.Path);
        }
    }
}
