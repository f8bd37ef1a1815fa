namespace Interop.Fhir.Pipeline;

/// <summary>The FHIR interactions (http://hl7.org/fhir/R4/http.html) and operations the pipeline handles.</summary>
public enum Interaction
{
    Read, VRead, Search, History,
    Create, ConditionalCreate, Update, ConditionalUpdate, Patch, ConditionalPatch, Delete, ConditionalDelete,
    Transaction, Batch, Operation,
}
