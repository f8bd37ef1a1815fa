using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Xml;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using Hl7.Fhir.Utility;
using Interop.Fhir.Errors;

namespace Interop.Fhir.Formats;

/// <summary>
/// Parsing and writing FHIR JSON and XML with the Firely SDK. Incoming content is parsed strictly and every
/// problem the SDK reports becomes one OperationOutcome issue with its location; stored content (already
/// validated) is parsed leniently.
/// </summary>
public static class FhirSerialization
{
    // Narrative is checked as FHIR's XHTML subset (no script, no event attributes...) whatever the format: one rule.
    private static readonly FhirJsonDeserializer StrictJson = new(Strict());
    private static readonly FhirXmlDeserializer StrictXml = new(Strict());
    private static readonly FhirJsonDeserializer TrustedJson = new(new DeserializerSettings().UsingMode(DeserializationMode.Ostrich));
    private static readonly BaseFhirJsonSerializer FhirJsonOut = new(ModelInfo.ModelInspector);
    private static readonly BaseFhirXmlSerializer FhirXmlOut = new(ModelInfo.ModelInspector);

    private static DeserializerSettings Strict() =>
        new DeserializerSettings().UsingMode(DeserializationMode.Strict, Hl7.Fhir.Validation.NarrativeValidationKind.FhirXhtml);

    // FHIR JSON is served as application/fhir+json, never embedded in HTML: keep non-ASCII text (names in
    // Chinese, accents) readable instead of \u-escaped.
    private static readonly JsonWriterOptions Compact = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, SkipValidation = true };
    private static readonly JsonWriterOptions Indented = Compact with { Indented = true };

    private static readonly XmlReaderSettings SafeXml = new()
    {
        DtdProcessing = DtdProcessing.Prohibit, XmlResolver = null, IgnoreComments = true, IgnoreWhitespace = true,
    };

    public static Resource Parse(ReadOnlySpan<byte> body, FhirFormat format) =>
        format == FhirFormat.Json ? ParseJson(body) : ParseXml(body);

    /// <summary>
    /// Parses a request body. Nesting past <see cref="Limits.JsonDepth"/> is refused by the reader before the parser
    /// recurses; anything else the parser cannot take (invalid UTF-8, unpaired surrogates, a list where an object
    /// belongs, an abstract type...) is a 400 too: it can only be the input's fault.
    /// </summary>
    public static Resource ParseJson(ReadOnlySpan<byte> body)
    {
        Resource? resource;
        IEnumerable<CodedException> issues;
        var reader = new Utf8JsonReader(body, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip, MaxDepth = Limits.JsonDepth });
        try
        {
            StrictJson.TryDeserializeResource(ref reader, out resource, out issues);
        }
        catch (JsonException e)
        {
            throw FhirException.Of(ErrorKind.Invalid, OperationOutcome.IssueType.Structure,
                $"The body is not valid JSON: {e.Message}" + (reader.CurrentDepth >= Limits.JsonDepth - 1 ? $" (nesting is limited to {Limits.JsonDepth} levels)" : ""),
                e.LineNumber is { } line ? $"line {line + 1}" : null);
        }
        catch (Exception e) when (e is not FhirException and not OperationCanceledException)
        {
            throw Unreadable(e, $"byte {reader.BytesConsumed}");
        }
        var accepted = Accept(resource, issues);
        // Characters FHIR refuses (control characters, non-characters, lone surrogates) can only come as JSON escapes
        // or as those UTF-8 sequences: a 400 at parsing, as the XML path does, before validation sees the resource
        // (a bundle's entries are checked one by one, so that a batch answers the bad entry alone).
        if (accepted is not Bundle && (body.IndexOf("\\u"u8) >= 0 || body.IndexOf("\\b"u8) >= 0 || body.IndexOf("\\f"u8) >= 0 || body.IndexOf([(byte)0xEF, (byte)0xBF]) >= 0))
            InputGuard.CheckResource(accepted, narrative: false);
        return accepted;
    }

    public static Resource ParseXml(ReadOnlySpan<byte> body)
    {
        Resource? resource;
        IEnumerable<CodedException> issues;
        try
        {
            CheckXmlDepth(body);
            using var stream = new MemoryStream(body.ToArray(), writable: false);
            using var reader = XmlReader.Create(stream, SafeXml);
            StrictXml.TryDeserializeResource(reader, out resource, out issues);
            // The SDK's XML parser does not check narrative as its JSON parser does: one rule for both formats.
            if (resource is not null) InputGuard.CheckResource(resource, narrative: true);
        }
        catch (XmlException e)
        {
            throw FhirException.Of(ErrorKind.Invalid, OperationOutcome.IssueType.Structure,
                $"The body is not valid XML: {e.Message}", $"line {e.LineNumber}, position {e.LinePosition}");
        }
        catch (Exception e) when (e is not FhirException and not OperationCanceledException)
        {
            throw Unreadable(e, null);
        }
        return Accept(resource, issues);
    }

    // The SDK's XML parser recurses per element: refuse deep documents in a flat pass first.
    private static void CheckXmlDepth(ReadOnlySpan<byte> body)
    {
        using var stream = new MemoryStream(body.ToArray(), writable: false);
        using var reader = XmlReader.Create(stream, SafeXml);
        while (reader.Read())
            if (reader.Depth > Limits.XmlDepth)
            {
                var info = (IXmlLineInfo)reader;
                throw FhirException.Of(ErrorKind.Invalid, OperationOutcome.IssueType.TooCostly,
                    $"The XML body nests elements deeper than {Limits.XmlDepth} levels.", $"line {info.LineNumber}, position {info.LinePosition}");
            }
    }

    private static FhirException Unreadable(Exception e, string? where) =>
        FhirException.Of(ErrorKind.Invalid, OperationOutcome.IssueType.Structure, $"The body cannot be read as a FHIR resource: {e.Message}", where);

    private static Resource Accept(Resource? resource, IEnumerable<CodedException>? issues)
    {
        var outcome = new OperationOutcome();
        foreach (var issue in issues ?? [])
        {
            var extended = issue as ExtendedCodedException;
            var severity = extended?.IssueSeverity ?? OperationOutcome.IssueSeverity.Error;
            if (severity is OperationOutcome.IssueSeverity.Information or OperationOutcome.IssueSeverity.Warning) continue;
            outcome.Issue.Add(Outcomes.Issue(severity, extended?.IssueType ?? OperationOutcome.IssueType.Invalid,
                $"{issue.ErrorCode}: {extended?.BaseErrorMessage ?? issue.Message}", Location(extended, resource?.TypeName)));
        }
        // What the parser finds (unknown elements, wrong types or shapes, missing required elements, codes outside the
        // R4 enumerations, bad narrative) is a 400: the resource "could not be parsed or failed basic FHIR validation
        // rules" (FHIR http). The validator's findings on a readable resource (invariants, profiles, references) are 422.
        if (outcome.Issue.Count > 0) throw new FhirException(ErrorKind.Invalid, outcome);
        return resource ?? throw FhirException.BadRequest("The body does not contain a FHIR resource.");
    }

    private static string? Location(ExtendedCodedException? e, string? type)
    {
        if (e is null) return null;
        // The parser names the root "$this" for some checks (a missing required element): a FHIRPath from the type, as elsewhere.
        if (!string.IsNullOrEmpty(e.InstancePath))
            return type is not null && e.InstancePath.StartsWith("$this", StringComparison.Ordinal) ? type + e.InstancePath[5..] : e.InstancePath;
        return e.LineNumber is > 0 ? $"line {e.LineNumber}, position {e.Position}" : null;
    }

    /// <summary>Parses JSON this server stored itself (already validated on the way in).</summary>
    public static Resource ParseStored(string json)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        var reader = new Utf8JsonReader(bytes, new JsonReaderOptions { MaxDepth = Limits.StoredJsonDepth });
        TrustedJson.TryDeserializeResource(ref reader, out var resource, out _);
        return resource ?? throw new InvalidOperationException("Stored resource JSON could not be parsed.");
    }

    /// <summary>Compact JSON, the form that is stored and served verbatim.</summary>
    public static string ToJson(Base resource)
    {
        var buffer = new ArrayBufferWriter<byte>(4096);
        using (var writer = new Utf8JsonWriter(buffer, Compact)) FhirJsonOut.Serialize(resource, writer);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>Stored JSON cut down to _summary/_elements (compact JSON; the SDK tags it SUBSETTED).</summary>
    public static string Subset(string json, OutputOptions options)
    {
        var buffer = new ArrayBufferWriter<byte>(json.Length);
        using (var writer = new Utf8JsonWriter(buffer, Compact)) FhirJsonOut.Serialize(ParseStored(json), writer, Filter(options));
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    public static void Write(Base resource, OutputOptions options, Stream output)
    {
        var filter = Filter(options);
        if (options.Format == FhirFormat.Json)
        {
            using var writer = new Utf8JsonWriter(output, options.Pretty ? Indented : Compact);
            FhirJsonOut.Serialize(resource, writer, filter);
        }
        else
        {
            using var writer = XmlWriter.Create(output, new XmlWriterSettings
            {
                Indent = options.Pretty, Encoding = new UTF8Encoding(false), OmitXmlDeclaration = false,
            });
            FhirXmlOut.Serialize(resource, writer, filter);
        }
    }

    private static Func<SerializationFilter>? Filter(OutputOptions options)
    {
        if (options.Elements is { Length: > 0 } elements) return SerializationFilter.ForElementsFactory(elements);
        return options.Summary switch
        {
            SummaryMode.True => SerializationFilter.ForSummary,
            SummaryMode.Text => SerializationFilter.ForText,
            SummaryMode.Data => SerializationFilter.ForData,
            _ => null,
        };
    }
}
