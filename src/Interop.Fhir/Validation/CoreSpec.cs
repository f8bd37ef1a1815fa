#pragma warning disable ExperimentalApi // StructureDefinitionToElementSchemaResolver: the only way to share compiled schemas
using System.Collections.Concurrent;
using Firely.Fhir.Validation;
using Firely.Fhir.Validation.Compilation;
using Hl7.Fhir.Model;
using Hl7.Fhir.Specification.Source;

namespace Interop.Fhir.Validation;

/// <summary>
/// The R4 specification (specification.zip from Hl7.Fhir.Specification.Data.R4) and the validation schemas compiled
/// from it, once per process: compiling a type's schema takes about 150 ms, every server in the process (the test
/// hosts too) shares them. The group's profiles are compiled per server (see <see cref="Conformance"/>).
/// </summary>
public static class CoreSpec
{
    public const string CorePrefix = "http://hl7.org/fhir/StructureDefinition/";

    private static readonly Lazy<IAsyncResourceResolver> Zip = new(() =>
    {
        // Unpacked into a directory of this process's own (created 0700): the SDK's default, one shared folder under
        // /tmp, belongs to whichever user unpacked first (the tests as root, then the server as `interop` could not
        // read it), and anyone who can write there could change the rules every resource is checked against.
        var extracted = Directory.CreateTempSubdirectory("interop-fhir-spec-").FullName;
        AppDomain.CurrentDomain.ProcessExit += (_, _) => { try { Directory.Delete(extracted, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { } };
        var zip = new ZipSource(Path.Combine(AppContext.BaseDirectory, "specification.zip"), extracted);
        // Unpacked and indexed here, once (Lazy runs this on one thread): done lazily, concurrent first uses race.
        zip.ListSummaries().Take(1).ToList();
        return new CachedResolver(zip);
    });

    private static readonly Lazy<IElementSchemaResolver> Schemas = new(() => Serialised(Compiler(Zip.Value)));

    /// <summary>Firely's schema compiler over <paramref name="source"/> (with the SDK's corrections of the specification).</summary>
    public static IElementSchemaResolver Compiler(IAsyncResourceResolver source) =>
        StructureDefinitionToElementSchemaResolver.CreatedCached(new StructureDefinitionCorrectionsResolver(source),
            new ConcurrentDictionary<Firely.Fhir.Validation.Canonical, ElementSchema?>());

    /// <summary>The specification's conformance resources (StructureDefinitions with snapshots, ValueSets, CodeSystems).</summary>
    public static IAsyncResourceResolver Resolver => Zip.Value;

    public static IElementSchemaResolver CompiledSchemas => Schemas.Value;

    private static readonly Lock Compiling = new();

    /// <summary>
    /// Compiled schemas, cached; compiling one takes a process-wide lock. Firely's compiler is not safe to run on
    /// several threads at once (two test servers starting together failed with "Encountered an error while loading
    /// schema '…/string': Index was out of range"); a compiled schema is read without a lock.
    /// </summary>
    public static IElementSchemaResolver Serialised(IElementSchemaResolver compiler) => new SerialisedSchemas(compiler);

    private sealed class SerialisedSchemas(IElementSchemaResolver compiler) : IElementSchemaResolver
    {
        private readonly ConcurrentDictionary<Firely.Fhir.Validation.Canonical, ElementSchema?> _compiled = new();

        public ElementSchema? GetSchema(Firely.Fhir.Validation.Canonical canonical)
        {
            if (_compiled.TryGetValue(canonical, out var schema)) return schema;
            lock (Compiling)
            {
                if (_compiled.TryGetValue(canonical, out schema)) return schema;
                schema = compiler.GetSchema(canonical); // a failure is not kept: the next use compiles again
                _compiled[canonical] = schema;
                return schema;
            }
        }
    }

    /// <summary>Whether <paramref name="canonical"/> names a definition of the specification itself.</summary>
    public static bool IsCore(string canonical) => canonical.StartsWith(CorePrefix, StringComparison.Ordinal);

    /// <summary>The types vendors send most (the group's centre, what it references, what Synthea-like EMR data holds).</summary>
    public static readonly string[] Common =
    [
        "Patient", "EpisodeOfCare", "ServiceRequest", "CarePlan", "CareTeam", "Task", "Organization", "Practitioner",
        "PractitionerRole", "Condition", "Consent", "Encounter", "Observation", "Procedure", "MedicationRequest",
        "Immunization", "DiagnosticReport", "AllergyIntolerance", "DocumentReference", "Location", "Provenance", "Claim",
        "ExplanationOfBenefit", "Goal", "Medication", "ImagingStudy", "Device", "SupplyDelivery", "MedicationAdministration",
        "StructureDefinition", "ValueSet", "CodeSystem", "SearchParameter", "Parameters",
    ];
}
