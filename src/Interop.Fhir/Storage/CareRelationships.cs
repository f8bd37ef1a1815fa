using Hl7.Fhir.Model;

namespace Interop.Fhir.Storage;

/// <summary>An institution's care relationship with a resident, made by one resource; open while <paramref name="Ended"/> is null.</summary>
/// <param name="Institution">"Organization/…"; empty when the resource named a <paramref name="Role"/> instead.</param>
/// <param name="Kind">episode, careteam (seen only while open), referral, encounter (seen for the window after they end).</param>
/// <param name="Role">
/// The id of a PractitionerRole the resource named (a care manager, a team member, an encounter participant, a
/// referral's requester or performer): the institution is that role's organization, found by the write's own
/// statement (<see cref="IndexWriter"/>) and kept up to date when the role changes.
/// </param>
public sealed record CareRelationship(string PatientId, string Institution, string Kind, DateTimeOffset? Ended, string? Role = null);

/// <summary>A resident's refusal (Consent, scope patient-privacy, provision deny) of an institution: all data, or some types or a label, for a period.</summary>
public sealed record ConsentDenial(string PatientId, string Institution, string[]? Types, string? Label, DateTimeOffset? From, DateTimeOffset? To);

/// <summary>
/// The access facts a resource carries, derived on every write in the same statement as its index rows
/// (IndexWriter): which institutions care for which resident (EpisodeOfCare.managingOrganization, CareTeam
/// organisations, a ServiceRequest's requesting and performing organisations, Encounter.serviceProvider), and
/// which institutions a resident's active Consent denies. Organization references count, and PractitionerRole
/// references through the role's organization (FHIR's way to say "this practitioner at this organization"); a bare
/// Practitioner reference does not, since which of the practitioner's institutions it means is not said.
/// </summary>
public static class CareRelationships
{
    public static List<CareRelationship> Of(Resource resource, DateTimeOffset now)
    {
        var result = new List<CareRelationship>();
        void Add(ResourceReference? patient, IEnumerable<ResourceReference?> organisations, string kind, DateTimeOffset? ended)
        {
            if (Id(patient, "Patient") is not { } p) return;
            var named = organisations.ToList();
            foreach (var org in named.Select(o => Id(o, "Organization")).OfType<string>().Distinct())
                result.Add(new CareRelationship(p, "Organization/" + org, kind, ended));
            foreach (var role in named.Select(o => Id(o, "PractitionerRole")).OfType<string>().Distinct())
                result.Add(new CareRelationship(p, "", kind, ended, role));
        }
        switch (resource)
        {
            case EpisodeOfCare e:
                Add(e.Patient, [e.ManagingOrganization, e.CareManager], "episode",
                    e.Status is EpisodeOfCare.EpisodeOfCareStatus.Active or EpisodeOfCare.EpisodeOfCareStatus.Planned or EpisodeOfCare.EpisodeOfCareStatus.Waitlist or EpisodeOfCare.EpisodeOfCareStatus.Onhold
                        ? null : End(e.Period, now));
                break;
            case CareTeam t:
                Add(t.Subject, t.ManagingOrganization.Concat(t.Participant.SelectMany(p => new[] { p.OnBehalfOf, p.Member })), "careteam",
                    t.Status is CareTeam.CareTeamStatus.Active or CareTeam.CareTeamStatus.Proposed or CareTeam.CareTeamStatus.Suspended ? null : End(t.Period, now));
                break;
            case ServiceRequest s:
                Add(s.Subject, s.Performer.Append(s.Requester), "referral",
                    s.Status is RequestStatus.Active or RequestStatus.Draft or RequestStatus.OnHold ? null : End(s.Occurrence as Period, now));
                break;
            case Encounter e:
                Add(e.Subject, e.Participant.Select(p => p.Individual).Prepend(e.ServiceProvider), "encounter",
                    e.Status is Encounter.EncounterStatus.Finished or Encounter.EncounterStatus.Cancelled or Encounter.EncounterStatus.EnteredInError
                        ? End(e.Period, now) : Instant(e.Period?.End, upper: true));
                break;
        }
        return result;
    }

    public static List<ConsentDenial> Denials(Resource resource)
    {
        var result = new List<ConsentDenial>();
        if (resource is not Consent { Status: Consent.ConsentState.Active } consent
            || !consent.Scope.Coding.Any(c => c.Code == "patient-privacy")
            || Id(consent.Patient, "Patient") is not { } patient) return result;
        void Walk(Consent.provisionComponent? provision)
        {
            if (provision is null) return;
            if (provision.Type == Consent.ConsentProvisionType.Deny)
            {
                var types = provision.Class.Select(c => c.Code).OfType<string>().Where(c => c.Length > 0).ToArray();
                var label = provision.SecurityLabel.FirstOrDefault()?.Code;
                foreach (var org in provision.Actor.Select(a => Id(a.Reference, "Organization")).OfType<string>().Distinct())
                    result.Add(new ConsentDenial(patient, "Organization/" + org, types.Length == 0 ? null : types, label,
                        Instant(provision.Period?.Start, upper: false), Instant(provision.Period?.End, upper: true)));
            }
            foreach (var nested in provision.Provision) Walk(nested);
        }
        Walk(consent.Provision);
        return result;
    }

    /// <summary>
    /// The institution a PractitionerRole stands for, for the relationships made through it: its organization while
    /// the role is not marked inactive; empty (no institution) otherwise, or when it is deleted.
    /// </summary>
    public static string RoleInstitution(Resource? resource) =>
        resource is PractitionerRole { Active: not false } role && Id(role.Organization, "Organization") is { } org ? "Organization/" + org : "";

    private static DateTimeOffset End(Period? period, DateTimeOffset now) => Instant(period?.End, upper: true) ?? now;

    // A FHIR dateTime as an instant: the start of its precision, or (upper) its end ("2024" ends with the year).
    private static DateTimeOffset? Instant(string? text, bool upper) =>
        Indexing.FhirDates.TryParse(text, out var lo, out var hi) ? (upper ? hi : lo) : null;

    // The id of a local reference "Type/id" of the given type, else null.
    private static string? Id(ResourceReference? reference, string type)
    {
        var text = reference?.Reference;
        if (text is null || !text.StartsWith(type + "/", StringComparison.Ordinal)) return null;
        var id = text[(type.Length + 1)..];
        var history = id.IndexOf("/_history", StringComparison.Ordinal);
        if (history >= 0) id = id[..history];
        return ResourceStore.IsValidId(id) ? id : null;
    }
}
