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
        new CachedResolver(ZipSource.CreateValidationSource(Path.Combine(AppContext.BaseDirectory, "specification.zip"))));

    private static readonly Lazy<IElementSchemaResolver> Schemas = new(() =>
        StructureDefinitionToElementSchemaResolver.CreatedCached(new StructureDefinitionCorrectionsResolver(Zip.Value),
            new ConcurrentDictionary<Firely.Fhir.Validation.Canonical, ElementSchema?>()));

    /// <summary>The specification's conformance resources (StructureDefinitions with snapshots, ValueSets, CodeSystems).</summary>
    public static IAsyncResourceResolver Resolver => Zip.Value;

    public static IElementSchemaResolver CompiledSchemas => Schemas.Value;

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
