import { render } from "preact";
import "./styles.css";
import { Home } from "./Home";
import { DashboardPage } from "./Dashboard";
import { Settings } from "./Settings";
import { applyTheme, initialTheme } from "./theme";
import ids from "./ids.json";

applyTheme(initialTheme());

const dashboardPath = new RegExp(`^/d/(${ids.dashboardUID})/?$`);

function App() {
  const m = dashboardPath.exec(location.pathname);
  if (m) return <DashboardPage uid={m[1]} />;
  if (location.pathname === "/settings") return <Settings />;
  return <Home />;
}

render(<App />, document.getElementById("app")!);
