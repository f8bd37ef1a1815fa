using Interop.Fhir.Storage;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using NpgsqlTypes;

namespace Interop.Fhir.Measures;

/// <summary>One row of an indicator's statement: the whole population (Stratifier null) or one stratum, and its columns.</summary>
public sealed record StratumRow(string? Stratifier, string[]? Values, IReadOnlyDictionary<string, object?> Columns);

/// <summary>One resident of a statement (the Patient's key), their institution ("none" without one), and a column per population (above 0: in it).</summary>
public sealed record SubjectRow(string Subject, string Org, IReadOnlyDictionary<string, object?> Columns);

/// <summary>
/// Runs an indicator's statements over the index tables — on the search connections (custom plans, the search
/// statement timeout), all statements in one batch, one round trip — and returns their rows. Nothing is loaded but counts.
/// </summary>
public sealed class MeasureEvaluator([FromKeyedServices(StorageSetup.SearchDatabase)] NpgsqlDataSource db)
{
    /// <summary>Every indicator, by its Measure's id.</summary>
    public static readonly IReadOnlyDictionary<string, Indicator> Indicators = new[]
    {
        ResidentIndicators.ContractedShare, ResidentIndicators.CareInsideGroup, ResidentIndicators.CaseManagement,
        ReferralIndicators.Referrals, ReferralIndicators.HighRiskCarePlan,
    }.ToDictionary(i => i.Id, StringComparer.Ordinal);

    /// <summary>Whether a live Organization has this key.</summary>
    public async Task<bool> OrganizationExists(string reference, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand($"select exists (select 1 from {StorageSetup.CurrentTable} where resource_type = 'Organization' and rid = @rid and not deleted)");
        cmd.Parameters.AddWithValue("rid", CompactKeys.Rid(reference));
        return (bool)(await cmd.ExecuteScalarAsync(ct))!;
    }

    /// <summary>
    /// The rows of each statement of <paramref name="indicator"/>, in order, and with <see cref="MeasureParameters.SubjectList"/>
    /// each statement's residents (one batch, one round trip).
    /// </summary>
    public async Task<(List<List<StratumRow>> Summary, List<List<SubjectRow>>? Subjects)> Run(Indicator indicator, MeasureParameters p, CancellationToken ct)
    {
        await using var connection = await db.OpenConnectionAsync(ct);
        await using var batch = new NpgsqlBatch(connection);
        var sql = indicator.Statements.Select(s => s.Sql);
        if (p.SubjectList) sql = sql.Concat(indicator.Statements.Select(s => s.SubjectSql));
        foreach (var text in sql)
        {
            var command = new NpgsqlBatchCommand(text);
            command.Parameters.Add(new NpgsqlParameter("lo", NpgsqlDbType.TimestampTz) { Value = p.Start.UtcDateTime });
            command.Parameters.Add(new NpgsqlParameter("hi", NpgsqlDbType.TimestampTz) { Value = p.End.UtcDateTime });
            command.Parameters.Add(new NpgsqlParameter("reporter", NpgsqlDbType.Bigint) { Value = p.Reporter is { } r ? CompactKeys.Rid(r) : DBNull.Value });
            batch.BatchCommands.Add(command);
        }
        var summary = new List<List<StratumRow>>();
        var subjects = p.SubjectList ? new List<List<SubjectRow>>() : null;
        await using var reader = await batch.ExecuteReaderAsync(ct);
        do
        {
            var strata = new List<StratumRow>();
            var residents = new List<SubjectRow>();
            var ofSubjects = summary.Count == indicator.Statements.Count;
            while (await reader.ReadAsync(ct))
            {
                var columns = new Dictionary<string, object?>(StringComparer.Ordinal);
                for (var i = 2; i < reader.FieldCount; i++) columns[reader.GetName(i)] = reader.IsDBNull(i) ? null : reader.GetValue(i);
                if (ofSubjects) residents.Add(new SubjectRow(reader.GetString(0), reader.GetString(1), columns));
                else strata.Add(new StratumRow(reader.IsDBNull(0) ? null : reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetFieldValue<string[]>(1), columns));
            }
            if (ofSubjects) subjects!.Add(residents);
            else summary.Add(strata);
        } while (await reader.NextResultAsync(ct));
        return (summary, subjects);
    }
}
