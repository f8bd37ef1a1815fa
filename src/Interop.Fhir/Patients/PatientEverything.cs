using Interop.Fhir.Errors;
using Interop.Fhir.Search;
using Interop.Fhir.Storage;
using Npgsql;

namespace Interop.Fhir.Patients;

public sealed record EverythingPage(IReadOnlyList<StoredVersion> Resources, int Total, string? NextAfter, IReadOnlyList<string> Patients);

/// <summary>
/// Patient/{id}/$everything across institutions: the patient and every patient linked to it (Patient.link,
/// either direction, followed transitively), every resource that references any of them, and the resources
/// those reference (practitioners, organisations, encounters...). Paged on the sorted resource keys.
/// </summary>
public sealed class PatientEverything(NpgsqlDataSource db, SearchService search)
{
    private const string S = StorageSetup.Schema;

    public async Task<EverythingPage> Run(string patientId, DateTimeOffset? since, IReadOnlyCollection<string>? types, string? after, int count, CancellationToken ct)
    {
        var patients = await LinkedPatients($"Patient/{patientId}", ct);
        var sql = $"""
            with recursive patients(k) as (select unnest($1::text[])),
            compartment as (
                select distinct x.rkey as k from {S}.ix_reference x where x.target_key = any($1) and x.rtype <> 'Patient'
            ),
            referenced as (
                select distinct x.target_key as k from {S}.ix_reference x join compartment c on c.k = x.rkey
                where x.target_key is not null and x.target_type <> 'Patient'
            ),
            everything as (select k from patients union select k from compartment union select k from referenced)
            select r.id from everything e join {StorageSetup.CurrentTable} r on r.id = e.k
            where not r.deleted and ($2::timestamptz is null or r.last_updated >= $2) and ($3::text[] is null or r.resource_type = any($3))
            order by r.id
            """;
        var keys = new List<string>();
        await using (var cmd = db.CreateCommand(sql))
        {
            cmd.Parameters.AddWithValue(patients.ToArray());
            cmd.Parameters.Add(new NpgsqlParameter { Value = (object?)since ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.TimestampTz });
            cmd.Parameters.Add(new NpgsqlParameter { Value = (object?)types?.ToArray() ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Array | NpgsqlTypes.NpgsqlDbType.Text });
            await using var reader = await cmd.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct)) keys.Add(reader.GetString(0));
        }
        var start = after is null ? 0 : keys.FindIndex(k => string.CompareOrdinal(k, after) > 0);
        if (start < 0) start = keys.Count;
        var page = keys.Skip(start).Take(count).ToList();
        var resources = await search.Fetch(page, ct);
        var next = start + count < keys.Count ? page[^1] : null;
        return new EverythingPage(resources, keys.Count, next, patients);
    }

    /// <summary>The patient and all patients linked to it, in either direction, transitively (at most 100).</summary>
    public async Task<List<string>> LinkedPatients(string key, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand($"""
            with recursive linked(k) as (
                select $1::text
                union
                select case when x.rkey = l.k then x.target_key else x.rkey end
                from linked l join {S}.ix_reference x
                  on x.rtype = 'Patient' and x.param = 'link' and (x.rkey = l.k or x.target_key = l.k)
            )
            select k from linked join {StorageSetup.CurrentTable} r on r.id = linked.k where not r.deleted limit 100
            """);
        cmd.Parameters.AddWithValue(key);
        var result = new List<string>();
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct)) result.Add(reader.GetString(0));
        if (!result.Contains(key)) throw FhirException.NotFound($"{key} does not exist.");
        return result;
    }
}
