using Hl7.Fhir.Model;
using Interop.Fhir.Errors;
using Interop.Fhir.Formats;
using Interop.Fhir.Storage;

namespace Interop.Fhir.Patients;

/// <summary>
/// Merging a duplicate registration by linking, not by rewriting: the source becomes inactive with
/// link "replaced-by" the target, the target gets link "replaces" the source, both as new versions in one
/// transaction. References are deliberately left as they are: they were written by other institutions'
/// systems and rewriting them would change records those institutions own and hide what they sent.
/// $everything and reads follow the links instead, so the merged view is complete and every version remains.
/// </summary>
public sealed class PatientMerge(ResourceStore store)
{
    public async Task<(StoredVersion Source, StoredVersion Target)> Merge(string sourceId, string targetId, WriteContext context, CancellationToken ct)
    {
        if (sourceId == targetId) throw FhirException.BadRequest("A patient cannot be merged into itself.", "target-patient");
        var source = await Live(sourceId, "source-patient", ct);
        var target = await Live(targetId, "target-patient", ct);
        var sourcePatient = (Patient)FhirSerialization.ParseStored(source.Json!);
        var targetPatient = (Patient)FhirSerialization.ParseStored(target.Json!);
        sourcePatient.Active = false;
        AddLink(sourcePatient, $"Patient/{targetId}", Patient.LinkType.ReplacedBy);
        AddLink(targetPatient, $"Patient/{sourceId}", Patient.LinkType.Replaces);
        try
        {
            await using var batch = store.Begin();
            var savedSource = batch.Put(sourcePatient, source, "PUT", context);
            var savedTarget = batch.Put(targetPatient, target, "PUT", context);
            await batch.Commit(ct);
            return (savedSource, savedTarget);
        }
        catch (Exception e) when (ResourceStore.IsVersionCollision(e))
        {
            throw FhirException.Conflict("One of the patients was changed while merging; nothing was stored. Retry.");
        }
    }

    private async Task<StoredVersion> Live(string id, string parameter, CancellationToken ct)
    {
        var current = await store.ReadCurrent("Patient", id, ct) ?? throw FhirException.Of(ErrorKind.NotFound, OperationOutcome.IssueType.NotFound, $"Patient/{id} does not exist.", parameter);
        if (current.Deleted) throw FhirException.Of(ErrorKind.Gone, OperationOutcome.IssueType.Deleted, $"Patient/{id} was deleted.", parameter);
        return current;
    }

    private static void AddLink(Patient patient, string other, Patient.LinkType type)
    {
        if (patient.Link.Any(l => l.Other?.Reference == other && l.Type == type)) return;
        patient.Link.Add(new Patient.LinkComponent { Other = new ResourceReference(other), Type = type });
    }
}
