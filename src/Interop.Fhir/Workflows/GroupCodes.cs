using Hl7.Fhir.Model;

namespace Interop.Fhir.Workflows;

/// <summary>The code systems and URLs of the group's implementation guide (profiles/) that the workflow rules read.</summary>
public static class GroupCodes
{
    public const string Base = "https://interop.example/fhir";
    public const string EpisodeType = Base + "/CodeSystem/episode-type";
    public const string TeamRole = Base + "/CodeSystem/team-role";
    public const string ReferralDirection = Base + "/StructureDefinition/referral-direction";
    public const string TerminationReason = Base + "/StructureDefinition/termination-reason";
    public const string TaskAccepted = Base + "/StructureDefinition/task-accepted";
    public const string TaskCode = "http://hl7.org/fhir/CodeSystem/task-code";

    public static bool Has(IEnumerable<CodeableConcept> concepts, string system, string code) =>
        concepts.Any(c => Has(c, system, code));

    public static bool Has(CodeableConcept? concept, string system, string code) =>
        concept?.Coding.Any(c => c.System == system && c.Code == code) == true;

    /// <summary>A FamilyDoctorContract: an EpisodeOfCare of type family-doctor-contract.</summary>
    public static bool IsContract(Resource? r) => r is EpisodeOfCare e && Has(e.Type, EpisodeType, "family-doctor-contract");

    /// <summary>A ReferralTask: a Task to fulfil a ServiceRequest (the referral).</summary>
    public static bool IsReferralTask(Resource? r) =>
        r is Hl7.Fhir.Model.Task t && Has(t.Code, TaskCode, "fulfill") && t.BasedOn.Any(b => b.Reference?.StartsWith("ServiceRequest/", StringComparison.Ordinal) == true);
}
