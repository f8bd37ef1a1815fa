using Hl7.Fhir.Model;

namespace Interop.Tests.Auth;

/// <summary>A resident's active privacy Consent that closes their record (or only some resource types) to one institution.</summary>
public static class DenyingConsent
{
    /// <param name="types">The resource types it closes; none: the whole record.</param>
    public static Consent For(string patient, string organization, params string[] types) => new()
    {
        Status = Consent.ConsentState.Active,
        Scope = new CodeableConcept("http://terminology.hl7.org/CodeSystem/consentscope", "patient-privacy"),
        PolicyRule = new CodeableConcept("http://terminology.hl7.org/CodeSystem/v3-ActCode", "OPTOUT"),
        Category = [new CodeableConcept("http://loinc.org", "59284-0")],
        Patient = new ResourceReference($"Patient/{patient}"),
        Provision = new Consent.provisionComponent
        {
            Type = Consent.ConsentProvisionType.Deny,
            Actor = [new Consent.provisionActorComponent { Role = new CodeableConcept("http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "IRCP"), Reference = new ResourceReference($"Organization/{organization}") }],
            Class = [.. types.Select(t => new Coding("http://hl7.org/fhir/resource-types", t))],
        },
    };
}
