#pragma warning disable ExperimentalApi // StructureDefinitionToElementSchemaResolver: the only way to share compiled schemas
using System.Collections.Concurrent;
using Firely.Fhir.Validation;
using Firely.Fhir.Validation.Compilation;
using Hl7.Fhir.Model;
using Hl7.Fhir.Specification.Snapshot;
using Hl7.Fhir.Specification.Source;
using Hl7.Fhir.Specification.Terminology;
using Interop.Fhir.Formats;
using Interop.Fhir.Storage;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Interop.Fhir.Validation;

/// <summary>
/// The group's conformance resources as this server validates with them: every StructureDefinition, ValueSet and
/// CodeSystem stored on the server (profiles/ is loaded into it at start, an admin may add more at run time), with
/// snapshots generated, their schemas compiled, and a local terminology service over them and the specification.
/// A write of one of those types, on any server of the database, makes the set stale (<see cref="Invalidate"/>, called
/// by the publish stage here and by <see cref="ConformanceListener"/> for the others); the next validation rebuilds it.
/// </summary>
public sealed class Conformance(NpgsqlDataSource db, ILogger<Conformance> log)
{
    public static readonly string[] Types = ["StructureDefinition", "ValueSet", "CodeSystem"];

    /// <summary>One consistent set: what the validator, the terminology operations and the profile checks use together.</summary>
    public sealed record Set(
        int Generation, Validator Validator, IAsyncResourceResolver Resolver, LocalTerminologyService Terminology,
        IReadOnlyDictionary<string, StructureDefinition> Profiles, IReadOnlyList<string> Problems)
    {
        /// <summary>The canonical URL of each stored ValueSet and CodeSystem, by "Type/id" (instance-level terminology operations).</summary>
        public IReadOnlyDictionary<string, string> Stored { get; init; } = new Dictionary<string, string>();
    }

    private static readonly ConcurrentDictionary<string, StructureDefinition.SnapshotComponent> Snapshots = new();
    private static readonly SemaphoreSlim Generating = new(1, 1);
    private readonly SemaphoreSlim _building = new(1, 1);
    private volatile Set? _current;
    private int _generation;

    /// <summary>The stored conformance resources changed: the next use rebuilds the set.</summary>
    public void Invalidate() => Interlocked.Increment(ref _generation);

    public async ValueTask<Set> Current(CancellationToken ct)
    {
        var wanted = Volatile.Read(ref _generation);
        if (_current is { } set && set.Generation == wanted) return set;
        await _building.WaitAsync(ct);
        try
        {
            wanted = Volatile.Read(ref _generation);
            if (_current is { } fresh && fresh.Generation == wanted) return fresh;
            var built = await Build(wanted, await Stored(ct), ct);
            foreach (var problem in built.Problems) log.LogWarning("Conformance resource not usable: {Problem}", problem);
            return _current = built;
        }
        finally
        {
            _building.Release();
        }
    }

    /// <summary>The set as it would be with <paramref name="candidate"/> stored too (a StructureDefinition upload is checked so).</summary>
    public async Task<Set> With(Resource candidate, CancellationToken ct)
    {
        // A copy: generating its snapshot must not change the resource the caller is storing.
        var stored = (await Stored(ct)).Where(r => !(r.TypeName == candidate.TypeName && r.Id == candidate.Id)).Append((Resource)candidate.DeepCopy()).ToList();
        return await Build(-1, stored, ct);
    }

    private async Task<List<Resource>> Stored(CancellationToken ct)
    {
        await using var cmd = db.CreateCommand(
            $"select data->>'Json' from {StorageSetup.Schema}.mt_doc_resourcedoc where resource_type = any($1) and not deleted");
        cmd.Parameters.AddWithValue(Types);
        var result = new List<Resource>();
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct)) result.Add(FhirSerialization.ParseStored(reader.GetString(0)));
        return result;
    }

    private static async Task<Set> Build(int generation, List<Resource> stored, CancellationToken ct)
    {
        var problems = new List<string>();
        // The specification's own definitions are not replaced by stored copies of them.
        var group = stored.Where(r => r is not IVersionableConformanceResource c || c.Url is not { } url || !CoreSpec.IsCore(url)).ToList();
        var memory = new InMemoryResourceResolver(group);
        var resolver = new CachedResolver(new MultiResolver(memory, CoreSpec.Resolver));
        var generator = new SnapshotGenerator(resolver, new SnapshotGeneratorSettings { GenerateElementIds = true });
        var profiles = new Dictionary<string, StructureDefinition>(StringComparer.Ordinal);
        // A snapshot depends on the definitions it builds on (base profiles, extensions): the key names them all.
        var definitions = string.Join(",", group.OfType<StructureDefinition>().Select(d => $"{d.Url}|{d.Version}|{d.Meta?.VersionId}").Order(StringComparer.Ordinal));
        foreach (var sd in group.OfType<StructureDefinition>())
        {
            ct.ThrowIfCancellationRequested();
            if (sd.Url is null) { problems.Add($"StructureDefinition/{sd.Id} has no url"); continue; }
            // Generated once per process for one definition (the servers of a test run share them; a snapshot takes 50–200 ms).
            var key = $"{definitions}#{sd.Url}|{sd.BaseDefinition}|{FhirSerialization.ToJson(sd.Differential ?? new StructureDefinition.DifferentialComponent())}";
            if (!sd.HasSnapshot && Snapshots.TryGetValue(key, out var snapshot)) sd.Snapshot = (StructureDefinition.SnapshotComponent)snapshot.DeepCopy()!;
            if (!sd.HasSnapshot)
            {
                // One generation at a time in the process: the specification's resolver is shared (see CoreSpec.Serialised).
                await Generating.WaitAsync(ct);
                try { await generator.UpdateAsync(sd); }
                finally { Generating.Release(); }
                var errors = generator.Outcome?.Issue.Where(i => i.Severity is OperationOutcome.IssueSeverity.Error or OperationOutcome.IssueSeverity.Fatal).ToList() ?? [];
                if (errors.Count > 0 || !sd.HasSnapshot)
                {
                    problems.Add($"{sd.Url}: its snapshot cannot be generated: {string.Join("; ", errors.Select(e => e.Details?.Text ?? e.Diagnostics))}");
                    continue;
                }
                Snapshots[key] = (StructureDefinition.SnapshotComponent)sd.Snapshot!.DeepCopy()!;
            }
            profiles[sd.Url] = sd;
        }
        // The profiles with their snapshots, ahead of the specification; schemas of the specification's types come
        // from the process-wide cache, the group's are compiled for this set.
        var withSnapshots = new CachedResolver(new MultiResolver(new InMemoryResourceResolver(group.Where(r => r is not StructureDefinition sd || profiles.ContainsKey(sd.Url ?? ""))), CoreSpec.Resolver));
        var groupSchemas = CoreSpec.Serialised(CoreSpec.Compiler(withSnapshots));
        var schemas = new SplitSchemaResolver(CoreSpec.CompiledSchemas, groupSchemas, profiles);
        var terminology = new LocalTerminologyService(withSnapshots);
        var settings = new ValidationSettings
        {
            // The profiles to validate against are chosen by ResourceValidator (meta.profile, known ones; enforced ones).
            SelectValidationProfiles = (_, _, _, _) => [],
            // Code systems too large to hold here (SNOMED CT, LOINC) are checked only where a ValueSet lists codes.
            HandleValidateCodeServiceFailure = (_, _) => TerminologyServiceExceptionResult.Warning,
            // Best-practice constraints (dom-6: a narrative) are warnings: told, not refused.
            ConstraintBestPractices = ValidateBestPracticesSeverity.Warning,
        };
        var validator = new Validator(withSnapshots, terminology, null, settings, schemas);
        return new Set(generation, validator, withSnapshots, terminology, profiles, problems)
        {
            Stored = group.OfType<IVersionableConformanceResource>().Where(c => c.Url is not null && c is Resource { Id: not null })
                .GroupBy(c => $"{((Resource)c).TypeName}/{((Resource)c).Id}").ToDictionary(g => g.Key, g => g.First().Url!),
        };
    }

    /// <summary>The specification's schemas from the shared cache, the group's from this set's.</summary>
    private sealed class SplitSchemaResolver(IElementSchemaResolver core, IElementSchemaResolver group, Dictionary<string, StructureDefinition> profiles)
        : IElementSchemaResolver
    {
        public ElementSchema? GetSchema(Firely.Fhir.Validation.Canonical canonical) =>
            CoreSpec.IsCore(canonical.ToString()) && !profiles.ContainsKey(canonical.ToString()) ? core.GetSchema(canonical) : group.GetSchema(canonical);
    }
}
