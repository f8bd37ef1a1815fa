namespace Interop.Fhir.Model;

/// <summary>
/// What a successful interaction did. Failures are <see cref="Errors.ErrorKind"/>s. The web layer alone turns
/// either into an HTTP status and status line.
/// </summary>
public enum ResultKind
{
    /// <summary>Read, searched or processed; nothing changed.</summary>
    Ok,
    Created,
    Updated,
    /// <summary>Nothing to do: the resource was deleted already.</summary>
    NoOp,
    /// <summary>A conditional create found the resource it would have made (If-None-Exist).</summary>
    MatchedExisting,
    Deleted,
}
