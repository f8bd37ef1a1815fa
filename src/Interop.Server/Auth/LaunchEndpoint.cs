using System.Security.Cryptography;
using Interop.Fhir.Errors;
using Interop.Fhir.Pipeline;
using Interop.Server.Rest;
using Npgsql;

namespace Interop.Server.Auth;

/// <summary>
/// SMART EHR launch. The EHR (a client with a token) records the context it opens an app in — a patient and
/// optionally an encounter it may itself read — with POST /auth/launch, and opens the app with
/// <c>iss</c> and the returned <c>launch</c>. The app asks /auth/authorize for scope <c>launch</c> with that
/// <c>launch</c>; the token then carries the patient and encounter. A context lives five minutes and is
/// redeemed once, in auth.launch_contexts (so any instance can redeem it).
/// </summary>
public static class LaunchEndpoint
{
    public sealed record LaunchRequest(string? Patient, string? Encounter);

    public sealed record LaunchContext(string Patient, string? Encounter);

    private static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(5);

    public static async Task<IResult> Create(HttpContext http, FhirPipeline pipeline, NpgsqlDataSource db, CancellationToken ct)
    {
        var context = FhirHttp.Context(http);
        if (!context.Caller.Authenticated)
            throw FhirException.Unauthenticated();
        var body = await AdminApi.Body<LaunchRequest>(http, ct);
        if (body.Patient is not { Length: > 0 } patient) throw FhirException.BadRequest("patient is required: the id of the Patient the app opens with.", "patient");
        // The EHR may hand over only what it may read itself: the reads pass the pipeline (scopes, compartment, policy).
        await pipeline.Send<VersionResult>(context, new ReadRequest("Patient", patient), ct);
        if (body.Encounter is { } encounter) await pipeline.Send<VersionResult>(context, new ReadRequest("Encounter", encounter), ct);
        var id = Convert.ToBase64String(RandomNumberGenerator.GetBytes(24)).Replace('+', '-').Replace('/', '_');
        await using var cmd = db.CreateCommand("insert into auth.launch_contexts (id, client_id, patient, encounter, expires) values ($1, $2, $3, $4, now() + $5)");
        cmd.Parameters.AddWithValue(id);
        cmd.Parameters.AddWithValue(context.Caller.Client);
        cmd.Parameters.AddWithValue(patient);
        cmd.Parameters.AddWithValue((object?)body.Encounter ?? DBNull.Value);
        cmd.Parameters.AddWithValue(Lifetime);
        await cmd.ExecuteNonQueryAsync(ct);
        return Results.Json(new { launch = id, patient, encounter = body.Encounter, expiresIn = (int)Lifetime.TotalSeconds }, statusCode: 201);
    }

    /// <summary>The context of a launch id that has not expired; with <paramref name="redeem"/>, it is used up.</summary>
    public static async Task<LaunchContext?> Find(NpgsqlDataSource db, string id, bool redeem, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand(redeem
            ? "delete from auth.launch_contexts where id = $1 and expires > now() returning patient, encounter"
            : "select patient, encounter from auth.launch_contexts where id = $1 and expires > now()");
        cmd.Parameters.AddWithValue(id);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? new LaunchContext(reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetString(1)) : null;
    }
}
