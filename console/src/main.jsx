import { render } from 'preact';
import { App } from './app.jsx';
import './console.css';

const root = document.getElementById('app');
root.textContent = '';
render(<App />, root);
