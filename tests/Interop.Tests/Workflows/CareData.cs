using Hl7.Fhir.Model;
using Interop.Tests.Infrastructure;

namespace Interop.Tests.Workflows;

/// <summary>Data of the case-management tests, built on a <see cref="GroupWorld"/>: chronic conditions, a hospital specialist, contracted residents.</summary>
public static class CareData
{
    public const string Snomed = "http://snomed.info/sct", Loinc = "http://loinc.org";

    public static Condition Condition(string patient, string system, string code, string text, string clinical = "active") => new()
    {
        ClinicalStatus = new CodeableConcept("http://terminology.hl7.org/CodeSystem/condition-clinical", clinical),
        Code = new CodeableConcept(system, code, text) { Text = text }, Subject = GroupWorld.Ref("Patient", patient),
    };

    public static Condition Hypertension(string patient) => Condition(patient, Snomed, "59621000", "Essential hypertension");
    public static Condition Diabetes(string patient) => Condition(patient, "http://hl7.org/fhir/sid/icd-10", "E11", "Type 2 diabetes");

    /// <summary>A resident with an active contract with GP 1 of station 1 (signed by station 1).</summary>
    public static async Task<string> Contracted(GroupWorld world)
    {
        var resident = await world.Resident();
        await world.Station1Client.CreateId(world.Contract(resident, world.Gp1, world.Team1));
        return resident;
    }

    /// <summary>A Practitioner and their PractitionerRole (specialist) at <paramref name="organization"/>: (practitioner id, role id).</summary>
    public static async Task<(string Practitioner, string Role)> Specialist(GroupWorld world, string organization)
    {
        var person = await world.Admin.CreateId(new Practitioner { Name = [new HumanName { Family = "Specialist" }] });
        var role = await world.Admin.CreateId(new PractitionerRole
        {
            Active = true, Practitioner = GroupWorld.Ref("Practitioner", person), Organization = GroupWorld.Ref("Organization", organization),
            Code = [new CodeableConcept(GroupWorld.TeamRole, "specialist")],
        });
        return (person, role);
    }

    public static Parameters Enrolment(string condition, string? specialist = null)
    {
        var p = new Parameters();
        p.Add("condition", GroupWorld.Ref("Condition", condition));
        if (specialist is not null) p.Add("specialist", new ResourceReference(specialist));
        return p;
    }

    public static Task<HttpResponseMessage> Enrol(HttpClient client, string patient, Parameters body) =>
        client.PostAsync($"/fhir/Patient/{patient}/$enrol", FhirTest.Body(body));

    public static async Task<string> Said(HttpResponseMessage response) =>
        $"{(int)response.StatusCode} " + string.Join(" | ", (await response.Issues()).Select(i => $"{i.Expression}: {i.Diagnostics}"));
}
