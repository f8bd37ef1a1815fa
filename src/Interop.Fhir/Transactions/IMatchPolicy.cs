using Hl7.Fhir.Model;
using Interop.Fhir.Storage;

namespace Interop.Fhir.Transactions;

/// <summary>
/// The access policy an entry's conditional parts obey, set by the authorise stage for a caller acting for an
/// institution (Security/InstitutionWrites). A conditional create, update, patch or delete, and a conditional
/// reference, is matched with the policy inside the search's SQL, so a resource the caller may not see is never
/// matched, counted or named; the outcome is then held to the write rules, in the entry's own transaction: what it
/// changes must be changeable by the caller, what it creates creatable. The authorise stage cannot decide those
/// itself: which resource a conditional entry changes is known only once its criteria are matched under the lock.
/// </summary>
public interface IMatchPolicy
{
    /// <summary>Applied to the SQL of every conditional match of the entry.</summary>
    InstitutionAccess Access { get; }

    /// <summary>Throws a 403 FhirException when the caller may not change (update, patch, delete) the visible live <paramref name="current"/>.</summary>
    Task Changing(StoredVersion current, UnitOfWork unit, CancellationToken ct);

    /// <summary>Throws a 403 FhirException when the caller may not create <paramref name="resource"/> (data about a resident it has no care relationship with).</summary>
    Task Creating(Resource resource, UnitOfWork unit, CancellationToken ct);
}
