using Interop.Fhir.Errors;
using Interop.Fhir.Storage;
using Npgsql;

namespace Interop.Fhir.Patients;

public sealed record EverythingPage(IReadOnlyList<StoredVersion> Resources, int? Total, string? NextAfter, IReadOnlyList<string> Patients);

/// <summary>
/// Patient/{id}/$everything across institutions: the patient and every patient linked to it (Patient.link,
/// either direction, followed transitively), every resource in their Patient compartment — the same
/// CompartmentDefinition/patient that compartment search uses — and the resources those reference
/// (practitioners, organisations, encounters..., but not other patients). One query per page, ordered and cut
/// on the resource key in the database; the first page also counts the whole set.
/// </summary>
public sealed class PatientEverything(NpgsqlDataSource db)
{
    private const string S = StorageSetup.Schema;

    private static readonly (string[] Types, string[] Params) Members =
    (
        PatientCompartment.Types.SelectMany(t => PatientCompartment.Params(t).Select(_ => t)).ToArray(),
        PatientCompartment.Types.SelectMany(PatientCompartment.Params).ToArray()
    );

    public async Task<EverythingPage> Run(string patientId, DateTimeOffset? since, IReadOnlyCollection<string>? types, string? after, int count, CancellationToken ct,
        InstitutionAccess? policy = null)
    {
        var extra = new List<object>();
        var allowed = policy is null ? "" : " and " + policy.Condition("r.resource_type", "r.rid", "r.data", v => { extra.Add(v); return "$" + (7 + extra.Count); });
        var patients = await LinkedPatients($"Patient/{patientId}", ct);
        // The first page also counts the whole set; later pages start after the previous page's last key (a keyset).
        var countColumn = after is null ? "count(*) over ()" : "null::bigint";
        var sql = $"""
            with members(rtype, param) as (select * from unnest($2::text[], $3::text[])),
            compartment as (
                select x.rid as k from {S}.ix_reference x join members m on m.rtype = x.rtype and m.param = x.param
                where x.target_rid = any($1)
            ),
            referenced as (
                select x.target_rid as k from {S}.ix_reference x join compartment c on c.k = x.rid
                where x.target_rid is not null and x.target_type <> 'Patient'
            ),
            everything as (select unnest($1::bigint[]) as k union select k from compartment union select k from referenced)
            select r.id, r.resource_type, r.resource_id, (r.data->>'VersionId')::int, r.last_updated, r.data->>'Json', {countColumn}
            from everything e join {StorageSetup.CurrentTable} r on r.rid = e.k
            where not r.deleted and ($4::timestamptz is null or r.last_updated >= $4) and ($5::text[] is null or r.resource_type = any($5))
              and ($6::text is null or r.id > $6){allowed}
            order by r.id limit $7
            """;
        var resources = new List<StoredVersion>();
        int? total = after is null ? 0 : null;
        await using (var cmd = db.CreateCommand(sql))
        {
            cmd.Parameters.AddWithValue(patients.Select(CompactKeys.Rid).ToArray());
            cmd.Parameters.AddWithValue(Members.Types);
            cmd.Parameters.AddWithValue(Members.Params);
            cmd.Parameters.Add(new NpgsqlParameter { Value = (object?)since ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.TimestampTz });
            cmd.Parameters.Add(new NpgsqlParameter { Value = (object?)types?.ToArray() ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Array | NpgsqlTypes.NpgsqlDbType.Text });
            cmd.Parameters.Add(new NpgsqlParameter { Value = (object?)after ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
            cmd.Parameters.AddWithValue(count + 1);
            foreach (var value in extra) cmd.Parameters.AddWithValue(value);
            await using var reader = await cmd.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                resources.Add(new StoredVersion(reader.GetString(1), reader.GetString(2), reader.GetInt32(3), reader.GetFieldValue<DateTimeOffset>(4), false, "GET", reader.GetString(5)));
                if (after is null) total = (int)reader.GetInt64(6);
            }
        }
        var more = resources.Count > count;
        if (more) resources.RemoveAt(resources.Count - 1);
        return new EverythingPage(resources, total, more ? resources[^1].Key : null, patients);
    }

    /// <summary>The patient and all patients linked to it, in either direction, transitively (at most 100).</summary>
    public async Task<List<string>> LinkedPatients(string key, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand($"""
            with recursive linked(k) as (
                select $1::bigint
                union
                select case when x.rid = l.k then x.target_rid else x.rid end
                from linked l join {S}.ix_reference x
                  on x.rtype = 'Patient' and x.param = 'link' and (x.rid = l.k or x.target_rid = l.k)
            )
            select r.id from linked join {StorageSetup.CurrentTable} r on r.rid = linked.k where not r.deleted limit 100
            """);
        cmd.Parameters.AddWithValue(CompactKeys.Rid(key));
        var result = new List<string>();
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct)) result.Add(reader.GetString(0));
        if (!result.Contains(key)) throw FhirException.NotFound($"{key} does not exist.");
        return result;
    }
}
