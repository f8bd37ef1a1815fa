using Interop.Fhir.Errors;
using Interop.Fhir.Model;

namespace Interop.Server.Rest;

/// <summary>The one place where what the library reports becomes an HTTP status and status line.</summary>
public static class HttpStatus
{
    public static int Of(ErrorKind kind) => kind switch
    {
        ErrorKind.Invalid => 400,
        ErrorKind.Unauthenticated => 401,
        ErrorKind.Forbidden => 403,
        ErrorKind.NotFound => 404,
        ErrorKind.NotSupported => 405,
        ErrorKind.NotAcceptable => 406,
        ErrorKind.Conflict => 409,
        ErrorKind.Gone => 410,
        ErrorKind.PreconditionFailed => 412,
        ErrorKind.TooLarge => 413,
        ErrorKind.UriTooLong => 414,
        ErrorKind.UnsupportedMediaType => 415,
        ErrorKind.Unprocessable => 422,
        ErrorKind.HeadersTooLarge => 431,
        ErrorKind.Unavailable => 503,
        _ => 500,
    };

    public static int Of(ResultKind kind) => kind switch
    {
        ResultKind.Created => 201,
        ResultKind.Deleted or ResultKind.NoOp => 204,
        _ => 200,
    };

    /// <summary>A status line for Bundle.entry.response.status.</summary>
    public static string Line(int status) => status switch
    {
        200 => "200 OK", 201 => "201 Created", 204 => "204 No Content", 400 => "400 Bad Request", 401 => "401 Unauthorized",
        403 => "403 Forbidden", 404 => "404 Not Found", 405 => "405 Method Not Allowed", 409 => "409 Conflict", 410 => "410 Gone",
        412 => "412 Precondition Failed", 422 => "422 Unprocessable Entity", 500 => "500 Internal Server Error",
        503 => "503 Service Unavailable", _ => status.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}
