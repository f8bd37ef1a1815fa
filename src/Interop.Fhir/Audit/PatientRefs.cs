using System.Text;
using System.Text.Json;

namespace Interop.Fhir.Audit;

/// <summary>
/// The patients a stored resource is about, read from its JSON in one pass without building a model: the Patient
/// itself, and every reference to a Patient (subject, patient, beneficiary..., relative or absolute). This is what
/// the access log names as the patients whose data a read, search or change touched.
/// </summary>
public static class PatientRefs
{
    private static readonly byte[] Reference = "reference"u8.ToArray(), ResourceType = "resourceType"u8.ToArray(), Id = "id"u8.ToArray();

    public static void Collect(string? json, ISet<string> into)
    {
        if (string.IsNullOrEmpty(json)) return;
        var bytes = Encoding.UTF8.GetBytes(json);
        var reader = new Utf8JsonReader(bytes, new JsonReaderOptions { MaxDepth = Errors.Limits.StoredJsonDepth });
        bool isPatient = false, property = false;
        string? id = null;
        byte[]? name = null;
        while (reader.Read())
        {
            switch (reader.TokenType)
            {
                case JsonTokenType.PropertyName:
                    name = reader.ValueSpan.SequenceEqual(Reference) ? Reference
                        : reader.CurrentDepth == 1 && reader.ValueSpan.SequenceEqual(ResourceType) ? ResourceType
                        : reader.CurrentDepth == 1 && reader.ValueSpan.SequenceEqual(Id) ? Id : null;
                    property = true;
                    continue;
                case JsonTokenType.String when property && name is not null:
                    if (name == Reference && Of(reader.GetString()!) is { } patient) into.Add(patient);
                    else if (name == ResourceType) isPatient = reader.ValueTextEquals("Patient"u8);
                    else if (name == Id) id = reader.GetString();
                    break;
            }
            property = false;
        }
        if (isPatient && id is not null) into.Add("Patient/" + id);
    }

    /// <summary>"Patient/{id}" for a reference to a Patient ("Patient/1", "https://…/Patient/1/_history/2"), else null.</summary>
    public static string? Of(string reference)
    {
        var at = reference.StartsWith("Patient/", StringComparison.Ordinal) ? 0 : reference.IndexOf("/Patient/", StringComparison.Ordinal) + 1;
        if (at < 0 || (at == 0 && !reference.StartsWith("Patient/", StringComparison.Ordinal))) return null;
        var id = reference.AsSpan(at + "Patient/".Length);
        var end = id.IndexOfAny('/', '?', '#');
        if (end >= 0) id = id[..end];
        return id.IsEmpty ? null : "Patient/" + id.ToString();
    }
}
