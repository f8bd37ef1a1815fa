namespace Interop.Fhir.Validation;

/// <summary>How much is checked on every write (Fhir:Validation): nothing, the R4 rules, or those and the profiles.</summary>
public enum ValidationMode { Off, Core, Profiles }

/// <summary>
/// A profile every resource of <see cref="Type"/> must meet when it matches <see cref="When"/> (a FHIRPath
/// condition, or always), whether or not it claims the profile in meta.profile.
/// </summary>
public sealed class EnforcedProfile
{
    public string Type { get; set; } = "";
    public string Profile { get; set; } = "";
    public string? When { get; set; }
}

/// <summary>The "Validation" section of the configuration (the mode itself is Fhir:Validation).</summary>
public sealed class ValidationOptions
{
    public ValidationMode Mode { get; set; } = ValidationMode.Profiles;

    /// <summary>A profile in meta.profile that the server does not know: an error (the default), or a warning.</summary>
    public bool UnknownProfileIsError { get; set; } = true;

    /// <summary>Whether `./interop.sh import --no-validate` may skip validation (a trusted bulk source).</summary>
    public bool ImportMayOptOut { get; set; } = true;

    public List<EnforcedProfile> Enforce { get; set; } = [];

    /// <summary>The group's rules that hold whatever meta.profile says (appsettings.json lists them; configuration may replace them).</summary>
    public static List<EnforcedProfile> GroupDefaults =>
    [
        new() { Type = "EpisodeOfCare", Profile = Profiles.Base + "StructureDefinition/family-doctor-contract", When = $"type.coding.where(system='{Profiles.Base}CodeSystem/episode-type' and code='family-doctor-contract').exists()" },
        new() { Type = "EpisodeOfCare", Profile = Profiles.Base + "StructureDefinition/case-management-episode", When = $"type.coding.where(system='{Profiles.Base}CodeSystem/episode-type' and code='case-management').exists()" },
        new() { Type = "ServiceRequest", Profile = Profiles.Base + "StructureDefinition/referral", When = $"extension.where(url='{Profiles.Base}StructureDefinition/referral-direction').exists()" },
    ];
}

public static class Profiles
{
    /// <summary>The canonical base of the group's implementation guide (profiles/).</summary>
    public const string Base = "https://interop.example/fhir/";
}
