using Hl7.Fhir.Model;

namespace Interop.Fhir.Workflows.Care;

/// <summary>The kinds of chronic condition under case management, and the codes of the care operations.</summary>
public enum ChronicKind { Hypertension, Diabetes, MentalIllness }

/// <summary>
/// The codes the case-management, stratification and care-plan operations read and write. The chronic conditions are
/// the concepts of ValueSet chronic-conditions (profiles/ValueSet-chronic-conditions.json), matched by system and code;
/// a test keeps this list and the file equal.
/// </summary>
public static class CareCodes
{
    public const string Snomed = "http://snomed.info/sct";
    public const string Icd10 = "http://hl7.org/fhir/sid/icd-10";
    public const string Loinc = "http://loinc.org";
    public const string ActCode = "http://terminology.hl7.org/CodeSystem/v3-ActCode";
    public const string RiskProbability = "http://terminology.hl7.org/CodeSystem/risk-probability";
    public const string RiskMethod = GroupCodes.Base + "/CodeSystem/risk-method";
    public const string InstitutionKind = GroupCodes.Base + "/CodeSystem/institution-kind";
    public const string ChronicConditionExtension = GroupCodes.Base + "/StructureDefinition/chronic-condition";
    public const string CaseManagementProfile = GroupCodes.Base + "/StructureDefinition/case-management-episode";
    public const string CarePlanProfile = GroupCodes.Base + "/StructureDefinition/individual-care-plan";

    /// <summary>ValueSet chronic-conditions: (system, code) → the kind of condition.</summary>
    public static readonly IReadOnlyDictionary<(string System, string Code), ChronicKind> Chronic = new Dictionary<(string, string), ChronicKind>
    {
        [(Snomed, "44054006")] = ChronicKind.Diabetes, [(Snomed, "46635009")] = ChronicKind.Diabetes, [(Snomed, "73211009")] = ChronicKind.Diabetes,
        [(Snomed, "38341003")] = ChronicKind.Hypertension, [(Snomed, "59621000")] = ChronicKind.Hypertension,
        [(Snomed, "58214004")] = ChronicKind.MentalIllness, [(Snomed, "13746004")] = ChronicKind.MentalIllness,
        [(Icd10, "E10")] = ChronicKind.Diabetes, [(Icd10, "E11")] = ChronicKind.Diabetes, [(Icd10, "I10")] = ChronicKind.Hypertension,
        [(Icd10, "F20")] = ChronicKind.MentalIllness, [(Icd10, "F31")] = ChronicKind.MentalIllness,
    };

    /// <summary>The first coding of <paramref name="code"/> in the chronic-conditions value set, with its kind, or null.</summary>
    public static (Coding Coding, ChronicKind Kind)? ChronicOf(CodeableConcept? code) =>
        code?.Coding.Where(c => Chronic.ContainsKey((c.System ?? "", c.Code ?? "")))
            .Select(c => ((Coding, ChronicKind)?)(c, Chronic[(c.System ?? "", c.Code ?? "")])).FirstOrDefault();

    /// <summary>A CaseManagementEpisode: an EpisodeOfCare of type case-management.</summary>
    public static bool IsCaseManagement(Resource? r) => r is EpisodeOfCare e && GroupCodes.Has(e.Type, GroupCodes.EpisodeType, "case-management");

    /// <summary>Whether a Condition counts as current: clinical status active, recurrence or relapse, or none recorded.</summary>
    public static bool IsActive(Condition c) =>
        c.ClinicalStatus is null || c.ClinicalStatus.Coding.Any(x => x.Code is "active" or "recurrence" or "relapse");

    /// <summary>The institution-kind code of an organisation (hospital, station…), or null.</summary>
    public static string? KindOf(Organization? o) =>
        o?.Type.SelectMany(t => t.Coding).FirstOrDefault(c => c.System == InstitutionKind)?.Code;
}
