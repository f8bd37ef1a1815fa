using Hl7.Fhir.Model;
using Interop.Fhir.Errors;
using Interop.Fhir.Patients;
using Interop.Fhir.Storage;
using Interop.Fhir.Transactions;

namespace Interop.Fhir.Security;

/// <summary>
/// The group's write rules for one institution, in one place for both moments they are asked: at the authorise
/// stage, for writes that name their target (create, update Type/id, patch, delete), and inside a conditional
/// write's transaction, once its criteria have been matched under the access policy (as <see cref="IMatchPolicy"/>).
/// An institution creates data only about residents it cares for (unless the resource starts the relationship), and
/// changes only what it wrote or what is addressed to it.
/// </summary>
public sealed class InstitutionWrites(ResourceStore store, InstitutionAccess access) : IMatchPolicy
{
    /// <summary>Resources whose creation starts a care relationship (or registers a resident): any institution may create them.</summary>
    private static readonly HashSet<string> Starters = ["Patient", "Encounter", "ServiceRequest", "EpisodeOfCare", "CareTeam", "Task"];

    public InstitutionAccess Access => access;

    public Task Changing(StoredVersion current, UnitOfWork unit, CancellationToken ct) =>
        RequireChangeable(current.ResourceType, current.Id, ct, unit);

    public Task Creating(Resource resource, UnitOfWork unit, CancellationToken ct) => RequireCreatable(resource, ct, unit);

    /// <summary>An update of a live resource changes it; one of a missing or deleted resource creates it.</summary>
    public async Task RequireWritable(string type, string id, Resource body, CancellationToken ct)
    {
        var changeable = await store.ChangeableBy(type, id, access.Institution, ct);
        if (changeable is null) await RequireCreatable(body, ct);
        else if (changeable == false) throw Unchangeable(type, id);
    }

    public async Task RequireChangeable(string type, string id, CancellationToken ct, UnitOfWork? unit = null)
    {
        if (await store.ChangeableBy(type, id, access.Institution, ct, unit) is false) throw Unchangeable(type, id);
    }

    /// <summary>Data about a resident needs a care relationship with the resident, unless the resource starts one.</summary>
    public async Task RequireCreatable(Resource resource, CancellationToken ct, UnitOfWork? unit = null)
    {
        var type = resource.TypeName;
        if (Starters.Contains(type) || !access.Members.ContainsKey(type)) return;
        var patients = PatientCompartment.PatientsReferenced(resource);
        var cared = await store.CaredFor(patients, access, ct, unit);
        if (patients.FirstOrDefault(p => !cared.Contains(p)) is { } stranger)
            throw FhirException.Forbidden(
                $"{access.Institution} has no care relationship with Patient/{stranger}: record an Encounter, a referral (ServiceRequest) or an " +
                "EpisodeOfCare for the resident first.");
    }

    private FhirException Unchangeable(string type, string id) => FhirException.Forbidden(
        $"{access.Institution} may change only what it wrote, or a referral or task it sent or that is addressed to it; {type}/{id} is neither.");
}
