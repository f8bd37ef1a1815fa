using Hl7.Fhir.Model;
using static Interop.Server.Seed.SeedFhir;

namespace Interop.Server.Seed;

/// <summary>
/// Encounters and observations of the past year. Encounters: 0–2 for most residents, 2–5 for the chronically ill;
/// 55 % at the resident's station, 20 % at its hospital, 8 % at another group hospital, 17 % outside the group
/// (the external hospital, or no provider recorded); a tenth of hospital visits are admissions of 2–10 days.
/// Observations: 2–4 blood pressure panels a year with hypertension, 1–3 HbA1c results with diabetes.
/// </summary>
public static class CareEvents
{
    private static readonly Coding Ambulatory = new("http://terminology.hl7.org/CodeSystem/v3-ActCode", "AMB", "ambulatory");
    private static readonly Coding Inpatient = new("http://terminology.hl7.org/CodeSystem/v3-ActCode", "IMP", "inpatient encounter");

    public static void Add(Resident r)
    {
        var rng = r.Rng;
        var count = r.Chronic ? 2 + rng.Next(4) : rng.Next(3);
        for (var k = 1; k <= count; k++) Encounter(r, k);
        if (r.Conditions.ContainsKey("ht"))
            for (int k = 1, n = 2 + rng.Next(3); k <= n; k++) BloodPressure(r, k);
        if (r.Conditions.ContainsKey("dm"))
            for (int k = 1, n = 1 + rng.Next(3); k <= n; k++) HbA1c(r, k);
    }

    private static void Encounter(Resident r, int k)
    {
        var rng = r.Rng;
        var where = Pick(rng, ("station", 55.0), ("hospital", 20), ("other-hospital", 8), ("external", 17));
        var provider = where switch
        {
            "station" => r.StationId,
            "hospital" => r.HospitalId,
            "other-hospital" => Institutions.Hospitals[rng.Next(Institutions.Hospitals.Count)].Id,
            _ => rng.NextDouble() < .7 ? Institutions.External : null,
        };
        var admitted = where is "hospital" or "other-hospital" && rng.NextDouble() < .1;
        var start = At(r.AsOf.AddDays(-rng.Next(12, 365)), 8 * 60 + rng.Next(9 * 60));
        var end = admitted ? start.AddDays(2 + rng.Next(9)) : start.AddMinutes(10 + rng.Next(50));
        r.Resources.Add(new Encounter
        {
            Id = $"{r.Id}-enc-{k}",
            Status = Hl7.Fhir.Model.Encounter.EncounterStatus.Finished,
            Class = admitted ? Inpatient : Ambulatory,
            Type = [Text(where == "station" ? "General practice consultation" : admitted ? "Hospital admission" : "Outpatient visit")],
            Subject = Ref("Patient", r.Id),
            Participant = where == "station" ? [new Encounter.ParticipantComponent { Individual = Ref("Practitioner", r.Team.GpId) }] : [],
            Period = new Period { Start = Instant(start), End = Instant(end) },
            ServiceProvider = provider is null ? null : Ref("Organization", provider),
        });
    }

    private static void BloodPressure(Resident r, int k)
    {
        var rng = r.Rng;
        var systolic = Math.Round(Normal(rng, 142, 16, 95, 210));
        var diastolic = Math.Round(Normal(rng, 88, 10, 55, Math.Min(130, systolic - 20)));
        r.Resources.Add(new Observation
        {
            Id = $"{r.Id}-bp-{k}",
            Status = ObservationStatus.Final,
            Category = [Concept("http://terminology.hl7.org/CodeSystem/observation-category", "vital-signs", "Vital Signs")],
            Code = Concept(Loinc, "85354-9", "Blood pressure panel with all children optional", "Blood pressure"),
            Subject = Ref("Patient", r.Id),
            Effective = new FhirDateTime(Instant(At(r.AsOf.AddDays(-rng.Next(1, 365)), 8 * 60 + rng.Next(9 * 60)))),
            Performer = [Ref("Practitioner", r.Team.GpId)],
            Component =
            [
                new Observation.ComponentComponent { Code = Concept(Loinc, "8480-6", "Systolic blood pressure"), Value = MmHg(systolic) },
                new Observation.ComponentComponent { Code = Concept(Loinc, "8462-4", "Diastolic blood pressure"), Value = MmHg(diastolic) },
            ],
        });
    }

    private static Quantity MmHg(double value) => new() { Value = (decimal)value, Unit = "mmHg", System = Ucum, Code = "mm[Hg]" };

    private static void HbA1c(Resident r, int k)
    {
        var rng = r.Rng;
        r.Resources.Add(new Observation
        {
            Id = $"{r.Id}-a1c-{k}",
            Status = ObservationStatus.Final,
            Category = [Concept("http://terminology.hl7.org/CodeSystem/observation-category", "laboratory", "Laboratory")],
            Code = Concept(Loinc, "4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", "HbA1c"),
            Subject = Ref("Patient", r.Id),
            Effective = new FhirDateTime(Instant(At(r.AsOf.AddDays(-rng.Next(1, 365)), 8 * 60 + rng.Next(4 * 60)))),
            Performer = [Ref("Organization", Institutions.Institute)],
            Value = new Quantity { Value = (decimal)Math.Round(Normal(rng, 7.4, 1.2, 5.2, 13), 1), Unit = "%", System = Ucum, Code = "%" },
        });
    }
}
