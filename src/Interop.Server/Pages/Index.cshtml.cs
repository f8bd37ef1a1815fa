using Interop.Server.Web;

namespace Interop.Server.Pages;

/// <summary>The home page: what each page is for; open without signing in.</summary>
public sealed class IndexModel : PageBase
{
    protected override bool RequiresSignIn => false;

    public void OnGet() { }
}
