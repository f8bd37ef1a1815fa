using Hl7.Fhir.Model;
using static Interop.Server.Seed.SeedFhir;

namespace Interop.Server.Seed;

/// <summary>
/// The chronic conditions under case management, by age. Approximate Chinese adult prevalences: hypertension
/// about 27 % of adults (China Hypertension Survey 2012–15, rising from 4 % at 18–24 to 60 % at 75+), type 2
/// diabetes about 11 % (national surveys 2013–18, 2 % under 30 to 24 % at 70+), severe mental illness about
/// 0.6 % from age 15 (schizophrenia or bipolar disorder, 7 : 3).
/// </summary>
public static class Conditions
{
    public static double Hypertension(int age) => age switch
    {
        < 18 => 0, < 25 => .04, < 35 => .06, < 45 => .14, < 55 => .32, < 65 => .47, < 75 => .56, _ => .60,
    };

    public static double Diabetes(int age) => age switch
    {
        < 18 => 0, < 30 => .02, < 40 => .04, < 50 => .09, < 60 => .15, < 70 => .22, _ => .24,
    };

    public static double MentalIllness(int age) => age < 15 ? 0 : .006;

    /// <summary>The concept of a condition key: (SNOMED CT code, display, ICD-10 code, display).</summary>
    public static readonly Dictionary<string, (string Sct, string SctDisplay, string Icd, string IcdDisplay)> Codes = new()
    {
        ["ht"] = ("59621000", "Essential hypertension", "I10", "Essential (primary) hypertension"),
        ["dm"] = ("44054006", "Diabetes mellitus type 2", "E11", "Non-insulin-dependent diabetes mellitus"),
        ["scz"] = ("58214004", "Schizophrenia", "F20", "Schizophrenia"),
        ["bp"] = ("13746004", "Bipolar disorder", "F31", "Bipolar affective disorder"),
    };

    public static void Add(Resident r)
    {
        var rng = r.Rng;
        var keys = new List<string>();
        if (rng.NextDouble() < Hypertension(r.Age)) keys.Add("ht");
        if (rng.NextDouble() < Diabetes(r.Age)) keys.Add("dm");
        if (rng.NextDouble() < MentalIllness(r.Age)) keys.Add(rng.NextDouble() < .7 ? "scz" : "bp");
        foreach (var key in keys)
        {
            var id = $"{r.Id}-{key}";
            r.Conditions[key] = id;
            var years = rng.Next(Math.Min(20, r.Age - 15) + 1);
            var (sct, sctDisplay, icd, icdDisplay) = Codes[key];
            r.Resources.Add(new Condition
            {
                Id = id,
                ClinicalStatus = Concept("http://terminology.hl7.org/CodeSystem/condition-clinical", "active", "Active"),
                VerificationStatus = Concept("http://terminology.hl7.org/CodeSystem/condition-ver-status", "confirmed", "Confirmed"),
                Category = [Concept("http://terminology.hl7.org/CodeSystem/condition-category", "problem-list-item", "Problem List Item")],
                Code = new CodeableConcept { Coding = [new Coding(Snomed, sct, sctDisplay), new Coding(Icd10, icd, icdDisplay)], Text = sctDisplay },
                Subject = Ref("Patient", r.Id),
                Onset = new FhirDateTime(Day(r.AsOf.AddYears(-years).AddDays(-rng.Next(1, 365)))),
                Recorder = Ref("Practitioner", r.Team.GpId),
            });
        }
    }
}
