using Interop.Server.Web;
using Microsoft.AspNetCore.Mvc;

namespace Interop.Server.Pages;

/// <summary>/signin: signs in (the base class sends a stranger to the authorisation server) and goes home.</summary>
public sealed class SignInModel : PageBase
{
    public IActionResult OnGet() => LocalRedirect("/");
}
