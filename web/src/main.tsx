import { render } from "preact";
import "./styles.css";
import { Home } from "./Home";
import { DashboardPage } from "./Dashboard";
import { Settings } from "./Settings";
import { applyTheme, initialTheme } from "./theme";

applyTheme(initialTheme());

function App() {
  const m = /^\/d\/([A-Za-z0-9_-]{1,64})\/?$/.exec(location.pathname);
  if (m) return <DashboardPage uid={m[1]} />;
  if (location.pathname === "/settings") return <Settings />;
  return <Home />;
}

render(<App />, document.getElementById("app")!);
