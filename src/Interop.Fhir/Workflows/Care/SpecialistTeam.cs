using Hl7.Fhir.Model;
using Interop.Fhir.Pipeline;

namespace Interop.Fhir.Workflows.Care;

/// <summary>The hospital specialist of a case-management episode, and the CareTeam $enrol creates for them and the GP.</summary>
public static class SpecialistTeam
{
    private const string Where = "Parameters.parameter[specialist]";

    /// <summary>
    /// The specialist's PractitionerRole at a hospital (the one given, or a given Practitioner's first active role whose
    /// organisation is of institution-kind hospital) and that hospital. Otherwise 422.
    /// </summary>
    public static async Task<(ResourceReference Member, ResourceReference Hospital)> Hospital(InteractionCall call, ResourceReference specialist, CancellationToken ct)
    {
        var roles = await Nested.Read(call, specialist, Where, ct) switch
        {
            PractitionerRole role => [role],
            Practitioner p => await Nested.Search<PractitionerRole>(call, "PractitionerRole", [new("practitioner", $"Practitioner/{p.Id}")], ct, limit: 50),
            _ => throw Nested.Unprocessable($"specialist must be a Practitioner or PractitionerRole, not {specialist.Reference}.", Where),
        };
        foreach (var role in roles.Where(x => x.Active != false && x.Organization?.Reference is not null))
            if (await Nested.Read(call, role.Organization!, Where, ct) is Organization org && CareCodes.KindOf(org) == "hospital")
                return (new ResourceReference($"PractitionerRole/{role.Id}"), new ResourceReference($"Organization/{org.Id}"));
        throw Nested.Unprocessable($"{specialist.Reference} is not a hospital specialist: no active PractitionerRole of theirs is at an Organization of " +
                                   $"institution-kind hospital ({CareCodes.InstitutionKind}).", Where);
    }

    /// <summary>
    /// The case team, managed by the station: the GP (gp-leader) and the specialist's PractitionerRole (specialist), which
    /// names the hospital. No onBehalfOf: Firely's check of R4 ctm-1 cannot resolve the member and fails it.
    /// </summary>
    public static CareTeam Build(string patient, Condition condition, EpisodeOfCare contract, ResourceReference specialistRole, string today) => new()
    {
        Status = CareTeam.CareTeamStatus.Active,
        Name = $"Case management: {condition.Code?.Text ?? CareCodes.ChronicOf(condition.Code)?.Coding.Display}",
        Subject = new ResourceReference(patient), Period = new Period { Start = today },
        ManagingOrganization = [new ResourceReference(contract.ManagingOrganization?.Reference)],
        Participant =
        [
            new CareTeam.ParticipantComponent { Role = [new CodeableConcept(GroupCodes.TeamRole, "gp-leader")], Member = new ResourceReference(contract.CareManager?.Reference) },
            new CareTeam.ParticipantComponent { Role = [new CodeableConcept(GroupCodes.TeamRole, "specialist")], Member = specialistRole },
        ],
    };
}
